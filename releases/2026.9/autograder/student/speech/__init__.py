"""Notebook 6's speech corpus: Festival speaks sentences (``festival``), ``corpus``
makes and reads the frames, ``mfcc`` the features, ``phones`` the labels and
``alignment`` the phone boundaries."""
