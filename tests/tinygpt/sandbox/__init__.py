"""Tests of tinygpt.sandbox: how a candidate's code is judged, and every escape contained."""
