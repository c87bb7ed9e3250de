"""Runs moto's own server (moto.server.main, same arguments as `moto_server`) with three changes
to how it is served, none to what it answers (and, with IRSA_SANDBOX_ACCESS_KEY set, the three
changes to its IAM enforcement listed at the end):

1. The dispatcher's backend lookup is memoised. For every request, moto_server lists its package
   directory (~200 stat calls) and tries the URL patterns of every service until one matches;
   the answer depends only on the host it infers, so it is computed once per host.
2. Werkzeug's access log line per request is off (errors are still logged).
3. Requests are served one at a time. moto's backends are not thread-safe: concurrent CreateRole
   calls fail with HTTP 500 "dictionary changed size during iteration" (seen with 16 concurrent
   clients). Under the GIL they ran one at a time anyway.

Measured with 16 concurrent boto3 clients creating, attaching and reading roles: ~3.5 ms per call
with moto_server, ~2.1 ms with this launcher.

With IRSA_SANDBOX_ACCESS_KEY set (`irsa-sandbox --enforce-iam`, started with
INITIAL_NO_AUTH_ACTION_COUNT=0 so that moto checks every request from the first):

4. Requests signed with that access key id (the sandbox's own: its seeding, the fakes' lookups,
   EKS Auth's AssumeRole as pods.eks.amazonaws.com, which no IAM user could make) are not checked.
5. Unsigned AssumeRoleWithWebIdentity and AssumeRoleWithSAML are not checked: STS needs no AWS
   credentials for them (the token is the proof); moto 5.2.5 answers them with HTTP 500 (its
   check reads the Authorization header they do not have).
6. Where moto knows no resource for a request (every call except IAM calls naming an existing
   role by RoleName and STS AssumeRole), it checks the policy's Resource against "*", which only
   "*" matches: a least-privilege policy scoped to ARNs would deny everything. Here IAM calls
   are given the ARN their parameters name, as IAM authorizes them (Service Authorization
   Reference, IAM: a role, policy or OIDC provider ARN; a role or policy to create by its
   name and path, an OIDC provider to create by its URL); for the rest (List calls, other
   services) any Resource element matches, so moto checks the action alone there.
"""

import logging
import os
import sys
import threading

from moto import backends
from moto.moto_server import werkzeug_app

_module_names = frozenset(backends.list_of_moto_modules())
backends.list_of_moto_modules = lambda: _module_names

_Dispatcher = werkzeug_app.DomainDispatcherApplication
_backend_for_host = _Dispatcher.get_backend_for_host
_backend_by_host = {}


def _cached_backend_for_host(self, host):
    if host not in _backend_by_host:
        _backend_by_host[host] = _backend_for_host(self, host)
    return _backend_by_host[host]


_Dispatcher.get_backend_for_host = _cached_backend_for_host

_serve = _Dispatcher.__call__
_one_at_a_time = threading.Lock()


def _serialised_call(self, environ, start_response):
    with _one_at_a_time:
        # Drain the response while holding the lock: moto builds some bodies lazily.
        return list(_serve(self, environ, start_response))


_Dispatcher.__call__ = _serialised_call

logging.getLogger("werkzeug").setLevel(logging.WARNING)


def _enforce_iam_for_callers_but(sandbox_key):
    from moto.core.authorization import ActionAuthenticatorMixin
    from moto.iam.access_control import IAMPolicyStatement

    unsigned = {"AssumeRoleWithWebIdentity", "AssumeRoleWithSAML"}
    check = ActionAuthenticatorMixin._authenticate_and_authorize_action

    def sandbox_or_checked(self, iam_request_cls, resource="*"):
        authorization = self.headers.get("Authorization") or ""
        if f"Credential={sandbox_key}/" in authorization:
            return None
        if not authorization and self._get_action() in unsigned:
            return None
        return check(self, iam_request_cls, resource)

    ActionAuthenticatorMixin._authenticate_and_authorize_action = sandbox_or_checked

    matches = IAMPolicyStatement._check_element_matches

    def unknown_resource_matches(self, element, value):
        if element == "Resource" and value == "*":
            return True
        return matches(self, element, value)

    IAMPolicyStatement._check_element_matches = unknown_resource_matches
    _name_the_resource_of_iam_calls()
    _answer_refusals_in_each_services_shape()


def _name_the_resource_of_iam_calls():
    from moto.iam.responses import IamResponse

    determine = IamResponse._determine_resource

    def named_resource(self):
        known = determine(self)
        if known != "*":
            return known
        data = self.data
        first = lambda key: (data.get(key) or [None])[0]  # noqa: E731
        prefix = f"arn:{self.partition}:iam::{self.current_account}"
        path = first("Path") or "/"
        if first("RoleName"):
            return f"{prefix}:role{path}{first('RoleName')}"
        if first("PolicyArn"):
            return first("PolicyArn")
        if first("OpenIDConnectProviderArn"):
            return first("OpenIDConnectProviderArn")
        if first("PolicyName") and first("Action") == "CreatePolicy":
            return f"{prefix}:policy{path}{first('PolicyName')}"
        if first("Url") and first("Action") == "CreateOpenIDConnectProvider":
            return f"{prefix}:oidc-provider/{first('Url').split('://', 1)[-1]}"
        return "*"

    IamResponse._determine_resource = named_resource


_QUERY_NAMESPACES = {
    "iam": "https://iam.amazonaws.com/doc/2010-05-08/",
    "sts": "https://sts.amazonaws.com/doc/2011-06-15/",
    "autoscaling": "http://autoscaling.amazonaws.com/doc/2011-01-01/",
}


def _answer_refusals_in_each_services_shape():
    import json
    import uuid
    from xml.sax.saxutils import escape

    from moto.core.exceptions import _RESTError
    from moto.iam.access_control import IAMPolicy, IAMRequest, PermissionResult

    class Refusal(_RESTError):
        code = 403

        def __init__(self, service, message):
            super().__init__("AccessDenied", message)
            if service == "cloudtrail":
                self.code = 400
                self.error_type = "AccessDeniedException"
                self.description = json.dumps({"__type": self.error_type, "message": message})
                self.content_type = "application/x-amz-json-1.1"
            else:
                namespace = _QUERY_NAMESPACES.get(service, "")
                self.description = (
                    f'<ErrorResponse xmlns="{namespace}"><Error><Type>Sender</Type>'
                    f"<Code>AccessDenied</Code><Message>{escape(message)}</Message></Error>"
                    f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
                )
                self.content_type = "text/xml"

    # Requests are served one at a time (change 3): the request being checked, and whether an
    # explicit Deny decided it.
    checking = {"resource": "*", "explicit": False}
    check = IAMRequest.check_action_permitted
    decide = IAMPolicy.is_action_permitted

    def remembering_the_resource(self, resource):
        checking.update(resource=resource, explicit=False)
        return check(self, resource)

    def remembering_a_deny(self, *args, **kwargs):
        result = decide(self, *args, **kwargs)
        if result == PermissionResult.DENIED:
            checking["explicit"] = True
        return result

    def refuse(self):
        action, resource = self._action, checking["resource"]
        message = f"User: {self._access_key.arn} is not authorized to perform: {action}"
        if resource != "*":
            message += f" on resource: {resource}"
        if checking["explicit"]:
            message += " with an explicit deny in an identity-based policy"
        else:
            message += f" because no identity-based policy allows the {action} action"
        raise Refusal(self._service, message)

    IAMRequest.check_action_permitted = remembering_the_resource
    IAMPolicy.is_action_permitted = remembering_a_deny
    IAMRequest._raise_access_denied = refuse


if os.environ.get("IRSA_SANDBOX_ACCESS_KEY"):
    _enforce_iam_for_callers_but(os.environ["IRSA_SANDBOX_ACCESS_KEY"])

from moto.server import main  # noqa: E402

main(sys.argv[1:])
