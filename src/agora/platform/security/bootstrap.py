"""A service process's security, wired from settings: its own identity (service token on every
outgoing call), the verifier of incoming tokens, and the interceptor enforcing the rules."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import grpc

from agora.platform.security.interceptor import AuthorizationInterceptor
from agora.platform.security.jwks import GrpcJwksSource, JwksChain, JwksSource, StaticJwksSource
from agora.platform.security.service_identity import ServiceIdentity
from agora.platform.security.tokens import RevokedSessions, TokenVerifier
from agora.platform.settings import PlatformSettings

AUTH_SERVICE = "auth"


@dataclass(frozen=True)
class ServiceSecurity:
    """What `service_host` wires into a service: who it is, and how it checks its callers."""

    identity: ServiceIdentity
    verifier: TokenVerifier
    interceptor: AuthorizationInterceptor


def user_key_source(
    platform: PlatformSettings, auth_channel: Callable[[], grpc.aio.Channel]
) -> JwksSource:
    """The auth service's keys over gRPC, after the keys of `AGORA_AUTH_JWKS_FILE` if set."""
    from_auth = GrpcJwksSource(auth_channel, timeout_s=min(platform.rpc_timeout_s, 2.0))
    if platform.auth_jwks_file is None:
        return from_auth
    return JwksChain([StaticJwksSource(platform.auth_jwks_file), from_auth])


def service_security(
    identity: ServiceIdentity, user_keys: JwksSource | None, revoked: RevokedSessions | None = None
) -> ServiceSecurity:
    """A verifier trusting `user_keys` for access tokens and the identity's key for services,
    refusing tokens of the `revoked` sessions."""
    verifier = TokenVerifier(user_keys, identity.verification_keys(), revoked=revoked)
    return ServiceSecurity(identity, verifier, AuthorizationInterceptor(verifier))
