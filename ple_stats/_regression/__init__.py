"""PLE for regression models (statsmodels' GLM, discrete and linear models).

Nothing here imports statsmodels at import time: the adapter reads an
unfitted model that the caller built, so statsmodels is already imported
whenever this code runs.
"""
