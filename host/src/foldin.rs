//! Fold-in of new users and partial refit of chosen rows.
