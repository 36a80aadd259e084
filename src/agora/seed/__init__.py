"""Demo data, created only through the services' public gRPC APIs."""
