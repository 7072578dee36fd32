"""What each notebook does, one call per cell: `features` (notebook 02's feature tables), `deep` (notebooks 03
and 04), `ensemble` (notebook 05: GBDTs, members, blend, submission, figures)."""
