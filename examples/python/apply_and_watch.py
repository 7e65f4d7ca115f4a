#!/usr/bin/python3
"""A campaignq client in Python: creates a campaign, applies, watches each
application to its decision.

    examples/python/generate /tmp/stubs
    /usr/bin/python3 examples/python/apply_and_watch.py --stubs=/tmp/stubs \\
        --server=127.0.0.1:50051 --token="$TOKEN" --cap=1 alice bob

Prints one line per application ("alice: application 1 APPROVED") and exits
0 once every application is decided (approved, waitlisted or rejected);
1 on any failed call, naming its gRPC code. Uses Debian's python3-grpcio and
python3-protobuf; docs/api.md says what each part shows.
"""

import argparse
import json
import os
import sys
import time
import uuid

import grpc

HERE = os.path.dirname(os.path.abspath(__file__))
# The published retry policy: UNAVAILABLE is retried for the calls that are
# safe to repeat, by gRPC itself.
DEFAULT_SERVICE_CONFIG = os.path.join(HERE, "..", "..", "proto", "service_config.json")
# The server caps every call's deadline at 30 s and ends a watch after its
# maximum duration: a watch is renewed until this much time has passed.
DECIDE_TIMEOUT_S = 120


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default=os.environ.get("CAMPAIGNQ_SERVER", "127.0.0.1:50051"))
    parser.add_argument("--token", default=os.environ.get("CAMPAIGNQ_TOKEN", ""),
                        help="bearer token (an admin's creates the campaign)")
    parser.add_argument("--stubs", required=True, help="directory examples/python/generate wrote")
    parser.add_argument("--service-config", default=DEFAULT_SERVICE_CONFIG)
    parser.add_argument("--name", default="python-example")
    parser.add_argument("--cap", type=int, default=10)
    parser.add_argument("users", nargs="+")
    return parser.parse_args()


def main():
    args = parse_args()
    sys.path.insert(0, args.stubs)
    # Imported here: the generated modules live where --stubs says.
    from campaignq.v1 import campaignq_pb2 as pb
    from campaignq.v1 import campaignq_pb2_grpc as pb_grpc
    from google.rpc import error_details_pb2, status_pb2

    with open(args.service_config, encoding="utf-8") as config:
        service_config = json.dumps(json.load(config))
    channel = grpc.insecure_channel(args.server, options=[
        ("grpc.service_config", service_config),
        ("grpc.enable_retries", 1),
    ])
    stub = pb_grpc.CampaignQueueStub(channel)
    # Plaintext on loopback: the token goes as metadata (gRPC's call
    # credentials are sent over TLS only).
    metadata = [("authorization", "Bearer " + args.token)] if args.token else []

    def existing_application_id(error):
        """The id ALREADY_EXISTS names: ErrorInfo metadata application_id."""
        for key, value in error.trailing_metadata() or ():
            if key != "grpc-status-details-bin":
                continue
            status = status_pb2.Status.FromString(value)
            for detail in status.details:
                info = error_details_pb2.ErrorInfo()
                if detail.Unpack(info) and info.reason == "ALREADY_APPLIED":
                    return int(info.metadata["application_id"])
        return None

    # CreateCampaign is not in the retry policy: only a call with a
    # request_id is safe to repeat, so this client repeats it itself, with
    # the same request_id, and gets the campaign the first call created.
    request_id = str(uuid.uuid4())
    request = pb.CreateCampaignRequest(name=args.name, max_participants=args.cap,
                                       request_id=request_id)
    for attempt in range(4):
        try:
            campaign = stub.CreateCampaign(request, timeout=10, metadata=metadata)
            break
        except grpc.RpcError as error:
            if error.code() not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.UNKNOWN) \
                    or attempt == 3:
                raise
            time.sleep(0.2 * 2**attempt)
    print(f"campaign {campaign.id} {campaign.name!r} cap {campaign.max_participants}", flush=True)

    applications = {}
    for user in args.users:
        apply = pb.ApplyRequest(campaign_id=campaign.id, user_id=user)
        application = stub.Apply(apply, timeout=10, metadata=metadata)
        applications[user] = application.id
        # As a client does after a lost reply: the same Apply again answers
        # ALREADY_EXISTS and names the application the first one stored.
        try:
            stub.Apply(apply, timeout=10, metadata=metadata)
            raise SystemExit(f"{user}: a repeated Apply was accepted")
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.ALREADY_EXISTS:
                raise
            if existing_application_id(error) != application.id:
                raise SystemExit(f"{user}: ALREADY_EXISTS named no application {application.id}")

    decided = {pb.APPLICATION_STATUS_APPROVED, pb.APPLICATION_STATUS_WAITLISTED,
               pb.APPLICATION_STATUS_REJECTED}
    give_up = time.monotonic() + DECIDE_TIMEOUT_S
    for user, application_id in applications.items():
        status = pb.APPLICATION_STATUS_PENDING
        while status not in decided:
            if time.monotonic() > give_up:
                raise SystemExit(f"{user}: application {application_id} still "
                                 f"{pb.ApplicationStatus.Name(status)} after {DECIDE_TIMEOUT_S} s")
            watch = pb.WatchApplicationRequest(application_id=application_id)
            # Each message is the whole application; the stream ends (OK) at
            # a final status or the server's maximum watch duration, and
            # DEADLINE_EXCEEDED at ours: either way, watch again.
            stream = stub.WatchApplication(watch, timeout=30, metadata=metadata)
            try:
                for application in stream:
                    status = application.status
                    if status in decided:
                        break
            except grpc.RpcError as error:
                if error.code() != grpc.StatusCode.DEADLINE_EXCEEDED:
                    raise
            finally:
                stream.cancel()  # a waitlisted application's watch stays open
        print(f"{user}: application {application_id} "
              f"{pb.ApplicationStatus.Name(status).removeprefix('APPLICATION_STATUS_')}",
              flush=True)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except grpc.RpcError as error:
        print(f"error: {error.code().name}: {error.details()}", file=sys.stderr)
        sys.exit(1)
