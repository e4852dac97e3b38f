"""The sync core: pure decisions (hashing, routing, ADF) and the flows that use them."""
