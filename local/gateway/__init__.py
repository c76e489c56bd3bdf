"""The local gateway: KServe's V1/V2 routes and an InferenceService API in front of Ray Serve."""
