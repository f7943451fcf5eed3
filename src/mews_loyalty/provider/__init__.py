"""The Reverse API provider kit: write a backend, get a conforming ASGI app (extra ``mock``).

    from mews_loyalty.provider import (
        BusinessRuleViolation, LinkMembershipRequest, ListMembershipsRequest, Membership,
        MembershipStatus, create_provider_app, serve,
    )

    class Backend:
        def search_members(self, request: SearchMembersRequest) -> list[Member]:
            return [...]  # members who may be request.member_filter's customer, best first

        def enroll_member(self, request: EnrollMemberRequest) -> Member:
            return ...  # the new member, or the existing one for a customer you already have

        async def list_memberships(self, request: ListMembershipsRequest) -> list[Membership]:
            return [...]  # the memberships you know among request.provider_membership_ids

        def link_membership(self, request: LinkMembershipRequest) -> bool:
            if blocked(request.provider_membership_id):
                raise BusinessRuleViolation("This membership is blocked.")
            return True

    app = create_provider_app(Backend(), tokens=["current-token", "next-token"])
    serve(app, port=8081)   # or any ASGI server: uvicorn module:app

The app checks the bearer token (401), validates the body with the generated models (400 with a
field error per problem, pointers like ``#/providerMembershipIds/3``; a member filter that completes
no search combination gets ``loyalty/invalid-member-search-criteria`` at ``#/memberFilter``), answers problems in the
language of ``Accept-Language`` (English, Czech, German; English by default), turns
``BusinessRuleViolation`` into 422 and ``RequestTimedOut`` into 408, hides crashes behind a 500
problem, and answers one entry per requested id in request order, ``notFound`` for ids the backend
did not return. Backend methods may be ``def`` (run in a worker thread) or ``async def``.

With ``create_provider_app(..., timeout=S)`` a 408 means the backend did not act: an ``async def``
method is cancelled after S seconds unless it marked its commit point
(``current_deadline().commit_point()``, right before it stores anything, when it awaits more after
that; without the mark the kit cannot know a change was made); a ``def`` method observes
``current_deadline()`` (its ``remaining()`` seconds as an I/O timeout, ``check()`` before
committing). Whatever a call that committed finally answers is what Mews gets, so a link committed
late is reported as done, never as a 408.

An absent optional field of a request reads as ``None`` (``if request.customer.email:``); a JSON
``null`` where the spec allows none is still a 400. ``tokens`` may be a callable, re-read on every
request; ``app.token_use.counts`` counts requests per token fingerprint (``fingerprint(token)``: the
first 8 hex digits of its SHA-256), and a change of token is logged. ``GET /healthz`` answers 200
without a token (``health_path=``). Errors are logged to ``mews_loyalty.provider``, on stderr when
logging is not configured. Deploying (HTTPS, a proxy, a prefix, workers): docs/provider.md.
"""

from mews_loyalty._generated.reverse.models import (
    Address,
    Customer,
    EnrollMemberRequest,
    FieldError,
    LinkMembershipRequest,
    LinkMembershipResponse,
    ListMembershipsRequest,
    ListMembershipsResponse,
    Member,
    MemberAddress,
    MemberFilter,
    Membership,
    MembershipStatus,
    SearchMembersRequest,
    SearchMembersResponse,
)
from mews_loyalty.provider._app import (
    DEFAULT_HEALTH_PATH,
    DEFAULT_PORT,
    ProviderApp,
    TokenUse,
    create_provider_app,
    serve,
)
from mews_loyalty.provider._auth import fingerprint
from mews_loyalty.provider._backend import (
    Deadline,
    Enrollment,
    LinkOutcome,
    MemberMatches,
    MembershipListing,
    ProviderBackend,
    current_deadline,
)
from mews_loyalty.provider._messages import LANGUAGES
from mews_loyalty.provider._problems import BusinessRuleViolation, RequestTimedOut

__all__ = [
    "DEFAULT_HEALTH_PATH",
    "DEFAULT_PORT",
    "LANGUAGES",
    "Address",
    "BusinessRuleViolation",
    "Customer",
    "Deadline",
    "EnrollMemberRequest",
    "Enrollment",
    "FieldError",
    "LinkMembershipRequest",
    "LinkMembershipResponse",
    "LinkOutcome",
    "ListMembershipsRequest",
    "ListMembershipsResponse",
    "Member",
    "MemberAddress",
    "MemberFilter",
    "MemberMatches",
    "Membership",
    "MembershipListing",
    "MembershipStatus",
    "ProviderApp",
    "ProviderBackend",
    "RequestTimedOut",
    "SearchMembersRequest",
    "SearchMembersResponse",
    "TokenUse",
    "create_provider_app",
    "current_deadline",
    "fingerprint",
    "serve",
]
