"""The edge: REST/JSON transcoded to gRPC from `google.api.http` annotations, OpenAPI 3.1 and
docs, problem+json errors, health probes and a response cache fed by domain events."""
