//! Ranking metrics: precision, recall, nDCG, MAP at k and AUC.
