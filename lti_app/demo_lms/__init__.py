"""A small real LTI 1.3 platform: the core behind the demo LMS (``make run`` → ``/demo``) and the test
platform in ``tests/platform``. Framework-free: Flask views and persistence are layered on top elsewhere."""

from .dynreg import ToolRegistration, issue_registration_token, openid_configuration, register_tool
from .platform import (
    AuthResponse,
    Course,
    DeepLinkingSettings,
    Launch,
    LoginInitiation,
    PlatformConfig,
    PlatformError,
    PlatformKey,
    ResourceLink,
    User,
    authorize,
    build_id_token_claims,
    jwks,
    login_initiation,
    role_uris,
    sign_id_token,
)
from .tool_messages import (
    AccessTokenStore,
    ReplayCache,
    issue_access_token,
    verify_deep_linking_response,
)

__all__ = [
    "AccessTokenStore",
    "AuthResponse",
    "Course",
    "DeepLinkingSettings",
    "Launch",
    "LoginInitiation",
    "PlatformConfig",
    "PlatformError",
    "PlatformKey",
    "ReplayCache",
    "ResourceLink",
    "ToolRegistration",
    "User",
    "authorize",
    "build_id_token_claims",
    "issue_access_token",
    "issue_registration_token",
    "jwks",
    "login_initiation",
    "openid_configuration",
    "register_tool",
    "role_uris",
    "sign_id_token",
    "verify_deep_linking_response",
]
