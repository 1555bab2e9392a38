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
