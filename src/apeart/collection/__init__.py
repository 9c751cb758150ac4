"""Collections: the offline demo collection and BAYC manifests from provenance CSV or token metadata."""
