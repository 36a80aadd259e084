"""The edge: REST/JSON transcoded to gRPC from `google.api.http` annotations, OpenAPI 3.1 and
docs, problem+json errors, health probes, a response cache fed by domain events, and the edge's
security: credentials and client origin forwarded, browser sessions in cookies with CSRF checks,
rate limits and security headers (docs/adr/0007)."""
