"""Random inspection ("double random, one public", SPEC §4): sample sizes and the verifiable draw."""
