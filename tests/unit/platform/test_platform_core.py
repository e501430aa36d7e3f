"""The framework-free platform core: message shapes against the Moodle 4.5 fixtures, the authorization
checks, the token endpoint, Deep Linking responses and Dynamic Registration."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from typing import Any

import jwt
import pytest

from lti_app.demo_lms import vocab
from lti_app.demo_lms.dynreg import (
    RegistrationError,
    issue_registration_token,
    openid_configuration,
    register_tool,
    verify_registration_token,
)
from lti_app.demo_lms.platform import (
    Course,
    DeepLinkingSettings,
    Launch,
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
    short_role_name,
    sign_id_token,
)
from lti_app.demo_lms.services import (
    LineItem,
    paginate,
    parse_lineitem,
    parse_score,
    result_json,
    with_path_suffix,
    with_query,
)
from lti_app.demo_lms.tool_messages import (
    AccessTokenStore,
    ReplayCache,
    issue_access_token,
    verify_deep_linking_response,
)
from tests.platform import moodle_fixture as fixture
from tests.platform.bad_launches import forge_token
from tests.platform.tool_side import make_client_assertion, make_deep_linking_response, token_request_form

MOODLE = PlatformConfig(
    issuer="http://127.0.0.1:8080",
    client_id="at60R5zwy5HUfTm",
    deployment_id="1",
    auth_url="http://127.0.0.1:8080/mod/lti/auth.php",
    token_url="http://127.0.0.1:8080/mod/lti/token.php",
    jwks_url="http://127.0.0.1:8080/mod/lti/certs.php",
    tool_login_url="http://127.0.0.1:5055/login",
    tool_launch_url="http://127.0.0.1:5055/launch",
    memberships_url="http://127.0.0.1:8080/mod/lti/services.php/CourseSection/{context_id}/bindings/1/memberships",
    lineitems_url="http://127.0.0.1:8080/mod/lti/services.php/{context_id}/lineitems",
    lineitem_url="http://127.0.0.1:8080/mod/lti/services.php/{context_id}/lineitems/{lineitem_id}/lineitem",
    service_query="type_id=1",
    outcome_service_url="http://127.0.0.1:8080/mod/lti/service.php",
    deep_link_return_url="http://127.0.0.1:8080/mod/lti/contentitem_return.php",
    custom={
        "lab_param": "hello",
        "context_title": "$Context.title",
        "context_memberships_url": "$ToolProxyBinding.memberships.url",
    },
    tool_name="DL test",
    tool_description="from lab",
    platform_name="lab",
    platform_description="Moodle Lab",
    platform_guid="a4492b16c7a2264583c170d32f67c816",
)
CANVAS = replace(MOODLE, product_family="canvas", service_query="", outcome_service_url="", custom={})
SAM = User("4", "Sam", "StudentOne", "student1@example.com", "student1")
TERRY = User("3", "Terry", "Teacher", "teacher1@example.com", "teacher1")
LAB = Course("2", "LTILAB", "LTI Lab Course")
ACTIVITY = ResourceLink("1", "Lab LTI Activity", "Launches the lab tool", line_item_id="2")
KEY = PlatformKey.generate()


def rl_launch(**overrides: Any) -> Launch:
    return Launch(
        **{"course": LAB, "resource_link": ACTIVITY, "custom": {"activity_param": "act1"}, **overrides}
    )


# ------------------------------------------------------------------------------------------- keys and JWKS


def test_keys_publish_rs256_signing_jwks_and_sign_with_their_kid() -> None:
    document = jwks([KEY])
    assert document == {"keys": [KEY.public_jwk]}
    assert {"kty", "n", "e", "kid", "alg", "use"} <= set(KEY.public_jwk)
    assert (KEY.public_jwk["alg"], KEY.public_jwk["use"], KEY.public_jwk["kty"]) == ("RS256", "sig", "RSA")
    assert len(KEY.kid) == 20
    token = sign_id_token({"sub": "4"}, KEY)
    assert jwt.get_unverified_header(token) == {"alg": "RS256", "kid": KEY.kid, "typ": "JWT"}
    public = jwt.PyJWK.from_dict(KEY.public_jwk).key
    assert jwt.decode(token, public, algorithms=["RS256"]) == {"sub": "4"}
    assert PlatformKey.from_pem(KEY.private_pem, kid=KEY.kid) == KEY


# ---------------------------------------------------------------------------------------- Moodle messages


@pytest.mark.parametrize(
    ("name", "user", "roles"),
    [
        ("launch_student.json", SAM, "learner"),
        ("launch_teacher.json", TERRY, "instructor"),
    ],
)
def test_moodle_resource_link_claims_match_the_fixture(name: str, user: User, roles: str) -> None:
    expected = fixture(name)["payload"]
    claims = build_id_token_claims(MOODLE, user, rl_launch(roles=roles), nonce="n", now=expected["iat"])
    assert list(claims) == list(expected)  # same claims, same order
    unlike = {"nonce", vocab.CLAIM_BASIC_OUTCOME, vocab.CLAIM_LAUNCH_PRESENTATION}
    for claim in set(expected) - unlike:
        assert claims[claim] == expected[claim], claim
    assert claims["exp"] - claims["iat"] == 60
    assert isinstance(claims["aud"], str)
    presentation = claims[vocab.CLAIM_LAUNCH_PRESENTATION]
    assert list(presentation) == list(expected[vocab.CLAIM_LAUNCH_PRESENTATION])
    outcome = claims[vocab.CLAIM_BASIC_OUTCOME]
    assert json.loads(outcome["lis_result_sourcedid"])["data"]["userid"] == user.id


def test_moodle_deep_linking_claims_match_the_fixture() -> None:
    expected = fixture("launch_deeplink_teacher.json")["payload"]
    launch = Launch(
        course=LAB,
        kind="deep_linking",
        roles="trainer",
        deep_linking=DeepLinkingSettings(
            return_url=expected[vocab.CLAIM_DL_SETTINGS]["deep_link_return_url"]
        ),
    )
    claims = build_id_token_claims(MOODLE, TERRY, launch, nonce="n", now=expected["iat"])
    assert list(claims) == list(expected)
    for claim in set(expected) - {"nonce"}:
        assert claims[claim] == expected[claim], claim
    assert "data" not in claims[vocab.CLAIM_DL_SETTINGS]
    assert "lineitem" not in claims[vocab.CLAIM_AGS_ENDPOINT]

    with_data = replace(
        launch,
        deep_linking=DeepLinkingSettings(
            return_url="http://x/return", data="opaque-1", accept_multiple=False
        ),
    )
    settings = build_id_token_claims(MOODLE, TERRY, with_data, nonce="n")[vocab.CLAIM_DL_SETTINGS]
    assert settings["data"] == "opaque-1"
    assert settings["accept_multiple"] is False
    assert settings["deep_link_return_url"] == "http://x/return"


def test_roles_for_each_role_set() -> None:
    admin = role_uris("administrator", "moodle")
    assert admin == [
        vocab.ROLE_INSTRUCTOR,
        vocab.ROLE_SYSTEM_ADMINISTRATOR,
        vocab.ROLE_INSTITUTION_ADMINISTRATOR,
    ]
    assert role_uris("trainer") == role_uris("instructor") == [vocab.ROLE_INSTRUCTOR]
    assert role_uris(["learner", vocab.ROLE_MENTOR]) == [vocab.ROLE_LEARNER, vocab.ROLE_MENTOR]
    canvas_admin = role_uris("admin", "canvas")
    assert vocab.ROLE_INSTITUTION_ADMINISTRATOR in canvas_admin and vocab.ROLE_SYSTEM_SYSADMIN in canvas_admin
    assert role_uris("learner", "canvas") == [
        vocab.ROLE_INSTITUTION_STUDENT,
        vocab.ROLE_LEARNER,
        vocab.ROLE_SYSTEM_USER,
    ]
    assert short_role_name(vocab.ROLE_LEARNER) == "Learner"
    assert short_role_name(vocab.ROLE_TEACHING_ASSISTANT) == "Instructor#TeachingAssistant"
    assert short_role_name(vocab.ROLE_SYSTEM_ADMINISTRATOR) == vocab.ROLE_SYSTEM_ADMINISTRATOR
    with pytest.raises(ValueError, match="unknown role set"):
        role_uris("wizard")


def test_mentor_launch_carries_role_scope_mentor() -> None:
    claims = build_id_token_claims(MOODLE, TERRY, rl_launch(roles="mentor", mentees=("4", "5")), nonce="n")
    assert claims[vocab.CLAIM_ROLES] == [vocab.ROLE_MENTOR]
    assert claims[vocab.CLAIM_ROLE_SCOPE_MENTOR] == ["4", "5"]
    assert vocab.CLAIM_ROLE_SCOPE_MENTOR not in build_id_token_claims(MOODLE, SAM, rl_launch(), nonce="n")


def test_custom_parameters_link_level_first_with_substitution() -> None:
    launch = rl_launch(
        custom={
            "department": "Sales",
            "skills": "python,sql",
            "who": "$User.username",
            "unknown": "$Not.A.Variable",
        }
    )
    custom = build_id_token_claims(MOODLE, SAM, launch, nonce="n")[vocab.CLAIM_CUSTOM]
    assert list(custom)[:4] == ["department", "skills", "who", "unknown"]
    assert custom["who"] == "student1"
    assert custom["unknown"] == "$Not.A.Variable"  # LTI Core: unknown variables stay as they are
    assert custom["context_title"] == "LTI Lab Course"


def test_canvas_claims_look_like_canvas() -> None:
    user = replace(SAM, picture="http://pics/sam.png", legacy_user_id="abc123", locale="fr")
    claims = build_id_token_claims(CANVAS, user, rl_launch(roles="learner"), nonce="n")
    assert claims["aud"] == [CANVAS.client_id] and claims["azp"] == CANVAS.client_id
    assert claims[vocab.CLAIM_LTI11_LEGACY_USER_ID] == "abc123"
    assert claims["picture"] == "http://pics/sam.png" and claims["locale"] == "fr"
    assert vocab.ROLE_INSTITUTION_STUDENT in claims[vocab.CLAIM_ROLES]
    assert claims[vocab.CLAIM_CONTEXT]["type"] == [vocab.CONTEXT_COURSE_OFFERING]
    assert claims[vocab.CLAIM_TOOL_PLATFORM]["product_family_code"] == "canvas"
    assert claims[vocab.CLAIM_NRPS]["service_versions"] == ["2.0"]
    assert "?type_id" not in claims[vocab.CLAIM_AGS_ENDPOINT]["lineitem"]
    dl = build_id_token_claims(
        CANVAS,
        user,
        Launch(
            course=LAB, kind="deep_linking", roles="instructor", deep_linking=DeepLinkingSettings(data="d")
        ),
        nonce="n",
    )
    assert dl[vocab.CLAIM_DL_SETTINGS]["data"] == "d"
    assert dl[vocab.CLAIM_DL_SETTINGS]["deep_link_return_url"] == CANVAS.deep_link_return_url


def test_generic_product_sends_the_spec_claims() -> None:
    claims = build_id_token_claims(replace(MOODLE, product_family="brightspace"), SAM, rl_launch(), nonce="n")
    required = {
        "iss",
        "aud",
        "sub",
        "exp",
        "iat",
        "nonce",
        vocab.CLAIM_MESSAGE_TYPE,
        vocab.CLAIM_VERSION,
        vocab.CLAIM_DEPLOYMENT_ID,
        vocab.CLAIM_TARGET_LINK_URI,
        vocab.CLAIM_ROLES,
        vocab.CLAIM_RESOURCE_LINK,
    }
    assert required <= set(claims)
    assert vocab.CLAIM_EXT not in claims


def test_resource_link_launch_requires_a_link() -> None:
    with pytest.raises(ValueError, match="resource_link"):
        build_id_token_claims(MOODLE, SAM, Launch(course=LAB), nonce="n")


# ------------------------------------------------------------------------------------------ login initiation


def test_login_initiation_has_moodle_parameters_in_moodle_order() -> None:
    expected = fixture("launch_student.json")["login_initiation"]
    initiation = login_initiation(MOODLE, SAM, rl_launch(message_hint=expected["lti_message_hint"]))
    assert initiation.method == "POST"
    assert initiation.params == expected
    assert list(initiation.params) == list(expected)
    assert initiation.url == MOODLE.tool_login_url
    get = login_initiation(MOODLE, SAM, rl_launch(), method="GET")
    assert get.get_url().startswith(MOODLE.tool_login_url + "?iss=")
    assert 'name="login_hint"' in initiation.html()
    assert "http-equiv" in get.html()


def test_login_initiation_for_canvas_and_with_platform_storage() -> None:
    canvas = login_initiation(replace(CANVAS, lti_storage_target="_parent"), SAM, rl_launch(message_hint="h"))
    assert canvas.params["canvas_region"] == "not_configured"
    assert canvas.params["lti_storage_target"] == "_parent"
    assert canvas.params["lti_message_hint"] == "h"


# ---------------------------------------------------------------------------------------------- authorize


def auth_params(**overrides: str) -> dict[str, str]:
    params = {
        "scope": "openid",
        "response_type": "id_token",
        "response_mode": "form_post",
        "prompt": "none",
        "client_id": MOODLE.client_id,
        "redirect_uri": MOODLE.tool_launch_url,
        "state": "state-1",
        "nonce": "nonce-1",
        "login_hint": SAM.id,
        "lti_message_hint": "hint-1",
    }
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not None}


def test_authorize_answers_with_a_signed_id_token_and_the_state() -> None:
    answer = authorize(
        MOODLE, auth_params(lti_storage_target="_parent"), SAM, rl_launch(message_hint="hint-1"), KEY
    )
    assert answer.redirect_uri == MOODLE.tool_launch_url
    assert set(answer.fields) == {"id_token", "state", "lti_storage_target"}
    assert answer.state == "state-1"
    public = jwt.PyJWK.from_dict(KEY.public_jwk).key
    claims = jwt.decode(answer.id_token, public, algorithms=["RS256"], audience=MOODLE.client_id)
    assert claims["nonce"] == "nonce-1" and claims == answer.claims
    assert 'action="http://127.0.0.1:5055/launch"' in answer.html()


@pytest.mark.parametrize(
    ("override", "error", "redirectable"),
    [
        ({"client_id": "someone-else"}, "unauthorized_client", False),
        ({"redirect_uri": "http://evil.example/launch"}, "invalid_request", False),
        ({"scope": "openid profile"}, "invalid_scope", True),
        ({"response_type": "code"}, "unsupported_response_type", True),
        ({"response_mode": "query"}, "invalid_request", True),
        ({"prompt": "login"}, "invalid_request", True),
        ({"login_hint": "5"}, "login_required", True),
        ({"lti_message_hint": "another"}, "invalid_request", True),
        ({"nonce": ""}, "invalid_request", True),
        ({"state": ""}, "invalid_request", True),
    ],
)
def test_authorize_refuses_a_bad_request(override: dict[str, str], error: str, redirectable: bool) -> None:
    with pytest.raises(PlatformError) as caught:
        authorize(MOODLE, auth_params(**override), SAM, rl_launch(message_hint="hint-1"), KEY)
    assert caught.value.error == error
    assert caught.value.redirectable is redirectable


# ------------------------------------------------------------------------------------------ token endpoint

TOOL_KEY = PlatformKey.generate(kid="tool-1")
TOOL_JWKS = {"keys": [TOOL_KEY.public_jwk]}


def test_token_endpoint_grants_requested_scopes_it_offers() -> None:
    store = AccessTokenStore()
    form = token_request_form(
        MOODLE.client_id,
        MOODLE.token_url,
        TOOL_KEY,
        [vocab.SCOPE_SCORE, vocab.SCOPE_NRPS, "https://example.com/scope/other"],
    )
    answer = issue_access_token(MOODLE, form, lambda: TOOL_JWKS, token_store=store)
    assert answer["token_type"] == "Bearer" and answer["expires_in"] == 3600
    assert answer["scope"] == f"{vocab.SCOPE_SCORE} {vocab.SCOPE_NRPS}"
    token = store.get(answer["access_token"])
    assert token is not None and token.allows(vocab.SCOPE_SCORE) and not token.allows(vocab.SCOPE_LINEITEM)
    store.expire_all()
    expired = store.get(answer["access_token"])
    assert expired is not None and not expired.allows(vocab.SCOPE_SCORE)


def assertion_form(assertion: str, **overrides: str) -> dict[str, str]:
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": vocab.CLIENT_ASSERTION_TYPE,
        "client_assertion": assertion,
        "scope": vocab.SCOPE_SCORE,
    }
    form.update(overrides)
    return form


STRANGER = PlatformKey.generate(kid="tool-1")  # same kid, different key


@pytest.mark.parametrize(
    ("form", "error"),
    [
        (lambda a: assertion_form(a, grant_type="password"), "unsupported_grant_type"),
        (lambda a: assertion_form(a, client_assertion_type="urn:other"), "invalid_request"),
        (lambda a: assertion_form(""), "invalid_request"),
        (lambda a: assertion_form(a, scope="https://example.com/nothing"), "invalid_scope"),
        (
            lambda a: assertion_form(make_client_assertion(MOODLE.client_id, MOODLE.token_url, STRANGER)),
            "invalid_client",
        ),
        (
            lambda a: assertion_form(make_client_assertion(MOODLE.client_id, "http://other/token", TOOL_KEY)),
            "invalid_client",
        ),
        (
            lambda a: assertion_form(
                make_client_assertion(MOODLE.client_id, MOODLE.token_url, TOOL_KEY, sub="x")
            ),
            "invalid_client",
        ),
        (
            lambda a: assertion_form(
                make_client_assertion(
                    MOODLE.client_id, MOODLE.token_url, TOOL_KEY, now=int(time.time()) - 3600
                )
            ),
            "invalid_client",
        ),
        (
            lambda a: assertion_form(
                make_client_assertion(MOODLE.client_id, MOODLE.token_url, TOOL_KEY, headers={"kid": "nope"})
            ),
            "invalid_client",
        ),
        (
            lambda a: assertion_form(
                forge_token(
                    jwt.decode(a, options={"verify_signature": False}),
                    header={"alg": "none", "kid": "tool-1"},
                )
            ),
            "invalid_client",
        ),
        (
            lambda a: assertion_form(
                forge_token(
                    jwt.decode(a, options={"verify_signature": False}),
                    header={"alg": "HS256", "kid": "tool-1"},
                    secret=TOOL_KEY.public_pem.encode(),
                )
            ),
            "invalid_client",
        ),
    ],
)
def test_token_endpoint_refuses(form: Any, error: str) -> None:
    assertion = make_client_assertion(MOODLE.client_id, MOODLE.token_url, TOOL_KEY)
    with pytest.raises(PlatformError) as caught:
        issue_access_token(MOODLE, form(assertion), TOOL_JWKS)
    assert caught.value.error == error
    assert caught.value.status == (401 if error == "invalid_client" else 400)


def test_token_endpoint_refuses_a_replayed_assertion() -> None:
    cache = ReplayCache()
    form = token_request_form(MOODLE.client_id, MOODLE.token_url, TOOL_KEY)
    issue_access_token(MOODLE, form, TOOL_JWKS, replay_cache=cache)
    with pytest.raises(PlatformError, match="already used"):
        issue_access_token(MOODLE, form, TOOL_JWKS, replay_cache=cache)


# ------------------------------------------------------------------------------------------- deep linking

ITEM = {"type": "ltiResourceLink", "title": "Mentoring", "custom": {"programme": "p1"}}


def test_deep_linking_response_is_verified_and_its_items_returned() -> None:
    token = make_deep_linking_response(MOODLE, TOOL_KEY, [ITEM], data="d1", nonce="n1")
    assert verify_deep_linking_response(token, TOOL_JWKS, MOODLE, "n1", expected_data="d1") == [ITEM]
    # pylti1p3 sends aud as a one-element list
    listed = make_deep_linking_response(MOODLE, TOOL_KEY, [ITEM], aud=[MOODLE.issuer])
    assert verify_deep_linking_response(listed, TOOL_JWKS, MOODLE) == [ITEM]


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda: make_deep_linking_response(MOODLE, TOOL_KEY, [ITEM], aud="http://other"), "JWT refused"),
        (lambda: make_deep_linking_response(MOODLE, TOOL_KEY, [ITEM], iss="other"), "iss"),
        (
            lambda: make_deep_linking_response(replace(MOODLE, deployment_id="9"), TOOL_KEY, [ITEM]),
            "deployment",
        ),
        (lambda: make_deep_linking_response(MOODLE, TOOL_KEY, [ITEM], data="changed"), "data"),
        (
            lambda: make_deep_linking_response(MOODLE, TOOL_KEY, [ITEM], **{vocab.CLAIM_MESSAGE_TYPE: "x"}),
            "message_type",
        ),
        (lambda: make_deep_linking_response(MOODLE, STRANGER, [ITEM]), "JWT refused"),
        (lambda: make_deep_linking_response(MOODLE, TOOL_KEY, [{"title": "no type"}]), "content_items"),
    ],
)
def test_deep_linking_response_refused(make: Any, problem: str) -> None:
    with pytest.raises(PlatformError, match=problem):
        verify_deep_linking_response(make(), TOOL_JWKS, MOODLE, expected_data=None)


def test_deep_linking_response_replay_is_refused() -> None:
    cache = ReplayCache()
    token = make_deep_linking_response(MOODLE, TOOL_KEY, [ITEM])
    verify_deep_linking_response(token, TOOL_JWKS, MOODLE, replay_cache=cache)
    with pytest.raises(PlatformError, match="replayed"):
        verify_deep_linking_response(token, TOOL_JWKS, MOODLE, replay_cache=cache)


# ----------------------------------------------------------------------------------- dynamic registration


def test_openid_configuration_has_moodles_shape() -> None:
    expected = fixture("openid-configuration.json")
    document = openid_configuration(
        "http://127.0.0.1:8080",
        authorization_endpoint=expected["authorization_endpoint"],
        token_endpoint=expected["token_endpoint"],
        jwks_uri=expected["jwks_uri"],
        registration_endpoint=expected["registration_endpoint"],
    )
    assert list(document) == list(expected)
    for key in set(expected) - {vocab.PLATFORM_CONFIGURATION}:
        assert document[key] == expected[key], key
    platform_conf = document[vocab.PLATFORM_CONFIGURATION]
    assert platform_conf["messages_supported"] == expected[vocab.PLATFORM_CONFIGURATION]["messages_supported"]


def test_registration_token_has_moodles_claims() -> None:
    expected = fixture("dynreg_capture.json")["registration_token_claims_unverified"]
    token, client_id = issue_registration_token(KEY, now=1000)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert set(claims) == set(expected) and claims["scope"] == "reg" and claims["sub"] == client_id
    assert claims["exp"] - claims["iat"] == expected["exp"] - expected["iat"]
    assert jwt.get_unverified_header(token)["kid"] == KEY.kid
    assert len(client_id) == 15


def test_register_tool_answers_like_moodle() -> None:
    capture = fixture("dynreg_capture.json")
    token, client_id = issue_registration_token(KEY)
    registration = register_tool(
        capture["registration_request"], f"Bearer {token}", keys=[KEY], deployment_id="2"
    )
    expected = capture["registration_response"]
    answer = dict(registration.response)
    assert list(answer) == list(expected)
    assert answer["client_id"] == client_id == registration.client_id
    for key in set(expected) - {"client_id"}:
        assert answer[key] == expected[key], key
    config = registration.platform_config(MOODLE)
    assert (config.client_id, config.deployment_id) == (client_id, "2")
    assert config.tool_login_url == "http://127.0.0.1:5055/login"
    assert config.redirect_uris == ("http://127.0.0.1:5055/launch",)
    assert config.custom == {"dynreg": "yes"}


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"application_type": "native"}, "application_type"),
        ({"grant_types": ["implicit"]}, "grant_types"),
        ({"response_types": ["code"]}, "response_types"),
        ({"initiate_login_uri": "not a url"}, "initiate_login_uri"),
        ({"redirect_uris": []}, "redirect_uris"),
        ({"jwks_uri": None}, "jwks_uri"),
        ({"token_endpoint_auth_method": "client_secret_basic"}, "token_endpoint_auth_method"),
        ({vocab.TOOL_CONFIGURATION: None}, "tool-configuration"),
        ({vocab.TOOL_CONFIGURATION: {"target_link_uri": "http://t/launch"}}, "domain"),
    ],
)
def test_register_tool_refuses_bad_metadata(change: dict[str, Any], problem: str) -> None:
    request = {**fixture("dynreg_capture.json")["registration_request"], **change}
    token, _ = issue_registration_token(KEY)
    with pytest.raises(RegistrationError, match=problem):
        register_tool(request, token, keys=[KEY], deployment_id="2")


def test_registration_token_must_be_ours_unexpired_and_unused() -> None:
    used = ReplayCache()
    token, _ = issue_registration_token(KEY)
    verify_registration_token(f"Bearer {token}", [KEY], used=used)
    with pytest.raises(PlatformError, match="token_already_used"):
        verify_registration_token(f"Bearer {token}", [KEY], used=used)
    expired, _ = issue_registration_token(KEY, now=int(time.time()) - 7200)
    with pytest.raises(PlatformError, match="refused"):
        verify_registration_token(expired, [KEY])
    foreign, _ = issue_registration_token(PlatformKey.generate())
    with pytest.raises(PlatformError, match="unknown key"):
        verify_registration_token(foreign, [KEY])
    with pytest.raises(PlatformError, match="required"):
        verify_registration_token("", [KEY])


# ------------------------------------------------------------------------------------------------ services


def test_paging_and_url_building() -> None:
    assert paginate([1, 2, 3, 4, 5], 2, 0) == ([1, 2], 2)
    assert paginate([1, 2, 3, 4, 5], 2, 4) == ([5], None)
    assert paginate([1, 2, 3], None, 0) == ([1, 2, 3], None)
    url = "http://lms/ags/2/lineitems/7/lineitem?type_id=1"
    assert with_path_suffix(url, "/scores") == "http://lms/ags/2/lineitems/7/lineitem/scores?type_id=1"
    assert with_query(url, user_id="4") == url + "&user_id=4"


def test_scores_are_validated_like_ags_requires() -> None:
    good = fixture("svc_06_ags_post_score.json")["request"]["body"]
    score = parse_score(good)
    assert (score.user_id, score.score_given, score.counts_as_grade) == ("4", 8.5, True)
    for broken in (
        {k: v for k, v in good.items() if k != "userId"},
        {k: v for k, v in good.items() if k != "timestamp"},
        {**good, "timestamp": "yesterday"},
        {**good, "timestamp": "2026-11-22T01:35:58"},  # no offset
        {**good, "activityProgress": "Done"},
        {**good, "gradingProgress": "Graded"},
        {**good, "scoreGiven": -1},
        {**good, "scoreGiven": "8"},
        {k: v for k, v in good.items() if k != "scoreMaximum"},
        [good],
    ):
        with pytest.raises(PlatformError):
            parse_score(broken)
    pending = parse_score({**good, "gradingProgress": "Pending"})
    assert not pending.counts_as_grade


def test_results_scale_to_the_line_item_maximum() -> None:
    item = LineItem("2", "2", "Lab", 20.0)
    score = parse_score(fixture("svc_06_ags_post_score.json")["request"]["body"])
    result = result_json(item, "http://lms/ags/2/lineitems/2/lineitem?type_id=1", score)
    assert result["resultScore"] == 17 and result["resultMaximum"] == 20
    assert result["id"] == "http://lms/ags/2/lineitems/2/lineitem/results?type_id=1&user_id=4"
    expected = fixture("svc_07_ags_results.json")["response"]["json"][0]
    assert list(result) == list(expected)


def test_line_items_are_validated() -> None:
    fields = parse_lineitem(fixture("svc_08_ags_create_lineitem.json")["request"]["body"])
    assert fields["label"] == "Tool-created line item" and fields["score_maximum"] == 20
    for broken in ({"scoreMaximum": 10}, {"label": "x", "scoreMaximum": 0}, {"label": "x"}, []):
        with pytest.raises(PlatformError):
            parse_lineitem(broken)
