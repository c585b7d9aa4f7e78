"""Verification: lemma and theorem checks against simulation, scaling laws, falsification, symbolic audit."""
