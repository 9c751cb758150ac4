"""IPFS: CIDv0 and UnixFS, HTTP gateways, verified fetch."""
