"""`leadflow scoring ...` and `leadflow scoring-eval`: scoring's reference data and its replay over labelled leads."""
