"""Where moto 5.2.1 differs from AWS in a way that would mislead stowage's tests, made like AWS.

Python imports this module at start-up when its directory is on PYTHONPATH; the project's one
moto launcher (stowage_test_support::Moto) puts it there. Each patch names the AWS behaviour it
restores; docs/real-services.md lists them.
"""

# A clock the tests can turn back (stowage_test_support::Moto::start_with_clock): the seconds in
# the file named by STOWAGE_MOTO_CLOCK_FILE are added to every `datetime.now()` and `utcnow()`,
# where moto takes every creation time from; without the file the clock is the real one.
import datetime as _datetime
import os as _os

_CLOCK_FILE = _os.environ.get("STOWAGE_MOTO_CLOCK_FILE")


def _offset():
    try:
        with open(_CLOCK_FILE, encoding="ascii") as clock:
            text = clock.read().strip()
    except OSError:
        return _datetime.timedelta(0)
    return _datetime.timedelta(seconds=float(text or "0"))


class _ClockedDatetime(_datetime.datetime):
    @classmethod
    def now(cls, tz=None):
        return super().now(tz) + _offset()

    @classmethod
    def utcnow(cls):
        return super().utcnow() + _offset()


if _CLOCK_FILE and _os.path.exists(_CLOCK_FILE):
    _datetime.datetime = _ClockedDatetime

# After the clock: moto must import the clocked datetime.
try:
    from moto.iam.models import IAMBackend
except ImportError:  # not moto's interpreter: nothing to patch
    IAMBackend = None

if IAMBackend is not None:
    _update_user = IAMBackend.update_user

    def update_user(self, user_name, new_path=None, new_user_name=None):
        """AWS keeps a user's tags when UpdateUser gives it a new path or name; moto keys tags
        by ARN, which holds both, and so lost them."""
        user = self.users.get(user_name)
        old_arn = user.arn if user is not None else None
        tags = self.tagger.list_tags_for_resource(old_arn)["Tags"] if old_arn else []
        _update_user(self, user_name, new_path=new_path, new_user_name=new_user_name)
        if user is not None and tags and user.arn != old_arn:
            self.tagger.delete_all_tags_for_resource(old_arn)
            self.tagger.tag_resource(user.arn, tags)

    IAMBackend.update_user = update_user

if IAMBackend is not None:
    from moto.iam.exceptions import DeleteConflictException as _DeleteConflict

    _delete_policy = IAMBackend.delete_policy

    def delete_policy(self, policy_arn):
        """AWS refuses to delete a managed policy still attached to a user, group or role, or
        with versions besides its default (DeleteConflict); moto 5.2.1 deleted it regardless."""
        policy = self.get_policy(policy_arn)
        if policy.attachment_count > 0:
            raise _DeleteConflict("Cannot delete a policy attached to entities.")
        if len(policy.versions) > 1:
            raise _DeleteConflict(
                "This policy has more than one version. Before you delete a policy, you must delete "
                "the policy's versions. The default version is deleted with the policy."
            )
        return _delete_policy(self, policy_arn)

    IAMBackend.delete_policy = delete_policy

try:
    from moto.s3.responses import S3Response
except ImportError:  # not moto's interpreter: nothing to patch
    S3Response = None

if S3Response is not None:
    import functools as _functools
    import threading as _threading

    # One lock for the whole process: moto serves each request on its own thread.
    _OBJECT_WRITES = _threading.RLock()

    def _one_at_a_time(handler):
        """S3 checks a conditional write's If-None-Match / If-Match and makes the write as one
        step: of two `If-None-Match: *` puts of one key, one succeeds and the other gets 412 (or
        409 ConditionalRequestConflict). moto 5.2.1 checks, then writes, on its request's own
        thread, so two puts can both pass the check and both succeed. Every PutObject and
        DeleteObject, conditional or not, runs under one lock here: an unconditional write can no
        more land between another's check and its write than a conditional one."""

        @_functools.wraps(handler)
        def locked(self, *args, **kwargs):
            with _OBJECT_WRITES:
                return handler(self, *args, **kwargs)

        return locked

    S3Response.put_object = _one_at_a_time(S3Response.put_object)
    S3Response.delete_object = _one_at_a_time(S3Response.delete_object)

try:
    from moto import settings as _settings
    from moto.core.authorization import ActionAuthenticatorMixin as _Authenticator
    from moto.iam import access_control as _access_control
except ImportError:  # not moto's interpreter: nothing to patch
    _access_control = None


def _enforcing_iam():
    """Whether moto checks signatures and policies now: the test turned enforcement on
    (`POST /moto-api/reset-auth`; stowage_test_support::Moto::enforce_iam). The patches below
    change nothing otherwise, as moto accepts any call then."""
    return _Authenticator.request_count >= _settings.INITIAL_NO_AUTH_ACTION_COUNT


if _access_control is not None:
    _user_access_key_init = _access_control.IAMUserAccessKey.__init__

    def _active_user_access_key_init(self, account_id, partition, access_key_id, headers):
        """AWS refuses a request signed with a deactivated (Inactive) access key as with an
        unknown one, S3 with 403 InvalidAccessKeyId (managing access keys:
        https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_access-keys.html); moto
        5.2.1 accepted it. Only under IAM enforcement, the only time moto looks at keys."""
        _user_access_key_init(self, account_id, partition, access_key_id, headers)
        user = self.backend.get_user(self._owner_user_name)
        key = next(key for key in user.access_keys if key.access_key_id == access_key_id)
        if key.status != "Active":
            raise _access_control.CreateAccessKeyFailure(reason="InvalidId")

    _access_control.IAMUserAccessKey.__init__ = _active_user_access_key_init

if _access_control is not None and S3Response is not None:
    import json as _json

    from moto.kms.models import kms_backends as _kms_backends
    from moto.s3.exceptions import BucketAccessDeniedError as _BucketAccessDenied

    _GENERATE_DATA_KEY = "kms:GenerateDataKey"

    def _put_kms_key_id(response, bucket):
        """The KMS key S3 encrypts this PutObject with: the request's SSE-KMS headers, else the
        bucket's default encryption; None for anything else (or the AWS managed key)."""
        algorithm = response.headers.get("x-amz-server-side-encryption")
        key_id = response.headers.get("x-amz-server-side-encryption-aws-kms-key-id")
        if algorithm is None and bucket.encryption:
            default = bucket.encryption["Rule"]["ApplyServerSideEncryptionByDefault"]
            algorithm, key_id = default["SSEAlgorithm"], default.get("KMSMasterKeyID")
        if algorithm not in ("aws:kms", "aws:kms:dsse"):
            return None
        return key_id

    def _key_policy_allows(key, caller_arn):
        """What the key policy says of `caller_arn`: True or False when a statement naming the
        caller (or `*`) allows or denies kms:GenerateDataKey, None when none does. A statement
        naming the account (`:root`) only delegates to IAM policies, as on AWS."""
        verdict = None
        for statement in _json.loads(key.policy).get("Statement", []):
            principals = statement.get("Principal") or {}
            principals = principals.get("AWS", []) if isinstance(principals, dict) else principals
            principals = [principals] if isinstance(principals, str) else principals
            # A condition moto cannot evaluate here decides nothing either way.
            if (caller_arn not in principals and "*" not in principals) or "Condition" in statement:
                continue
            unscoped = {name: value for name, value in statement.items() if name != "Principal"}
            statement_result = _access_control.IAMPolicyStatement(unscoped)
            result = statement_result.is_action_permitted(_GENERATE_DATA_KEY, key.arn)
            if result == _access_control.PermissionResult.DENIED:
                return False
            if result == _access_control.PermissionResult.PERMITTED:
                verdict = True
        return verdict

    def _may_generate_data_key(response, key):
        """The caller's ARN, and moto's own policy evaluation of kms:GenerateDataKey on `key` for
        it: its identity policies (an explicit Deny wins), or a key policy that names it."""
        credential = response.headers.get("Authorization", "").split("Credential=", 1)[-1]
        access_key_id = credential.split("/", 1)[0]
        caller = _access_control.create_access_key(
            account_id=response.current_account,
            partition=key.arn.split(":")[1],
            access_key_id=access_key_id,
            headers=response.headers,
        )
        permitted = False
        for policy in caller.collect_policies():
            policy_result = _access_control.IAMPolicy(policy)
            result = policy_result.is_action_permitted(_GENERATE_DATA_KEY, key.arn)
            if result == _access_control.PermissionResult.DENIED:
                return caller.arn, False
            permitted = permitted or result == _access_control.PermissionResult.PERMITTED
        by_key_policy = _key_policy_allows(key, caller.arn)
        return caller.arn, by_key_policy is not False and (permitted or by_key_policy is True)

    _put_object = S3Response.put_object

    def put_object(self, *args, **kwargs):
        """S3 encrypts an object with SSE-KMS by asking KMS for a data key on the caller's behalf,
        so a PutObject into a bucket whose default encryption (or the request's headers) names a
        KMS key "requires kms:GenerateDataKey" on it and fails with AccessDenied without it
        (https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html). moto
        5.2.1 never asked: under IAM enforcement it now does, with moto's own policy evaluation.
        A key moto does not know, or a caller signed otherwise (presigned URLs), is let through
        as before."""
        if _enforcing_iam() and "Credential=" in self.headers.get("Authorization", ""):
            bucket = self.backend.get_bucket(self.bucket_name)
            key_id = _put_kms_key_id(self, bucket)
            key = None
            if key_id:
                region = key_id.split(":")[3] if key_id.startswith("arn:") else bucket.region_name
                try:
                    key = _kms_backends[self.current_account][region].describe_key(key_id)
                except (KeyError, AttributeError):  # no such key or alias
                    key = None
            caller_arn, allowed = (None, True) if key is None else _may_generate_data_key(self, key)
            if not allowed:
                denied = _BucketAccessDenied(bucket=self.bucket_name)
                denied.message = (
                    f"User: {caller_arn} is not authorized to perform: {_GENERATE_DATA_KEY} "
                    f"on resource: {key.arn}"
                )
                raise denied
        return _put_object(self, *args, **kwargs)

    S3Response.put_object = put_object
