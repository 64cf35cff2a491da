"""The Python baseline of azfn-bench's `durable-replay` scenario.

Replays the histories the Rust runner wrote (protobuf `OrchestratorRequest` bytes, one file per
history) through durabletask-python's own replay executor, `durabletask.worker._OrchestrationExecutor`,
as its worker does for one work item: decode the request, `execute(instanceId, pastEvents,
newEvents)`, build and encode the `OrchestratorResponse`. The orchestrators are the Rust ones,
written as durabletask generators.

The runner drives it over stdin, one command a line, one answer a line:

    check <path> <expected output JSON>  ->  ok | error <message>
    time <path> <episodes>               ->  <seconds for all episodes>
"""

import json
import logging
import sys
import time

from durabletask import task
from durabletask.internal import helpers
from durabletask.internal import orchestrator_service_pb2 as pb
from durabletask.serialization import JsonDataConverter
from durabletask.worker import _OrchestrationExecutor, _Registry


def chain(ctx: task.OrchestrationContext, steps: int):
    """Calls `Step` `steps` times in a row, each on the previous result."""
    value = 0
    for _ in range(steps):
        value = yield ctx.call_activity("Step", input=value)
    return value


def fan_out(ctx: task.OrchestrationContext, steps: int):
    """Calls `Step` on 0..steps at once, then sums the results."""
    results = yield task.when_all([ctx.call_activity("Step", input=i) for i in range(steps)])
    return sum(results)


REGISTRY = _Registry()
REGISTRY.add_named_orchestrator("Chain", chain)
REGISTRY.add_named_orchestrator("FanOut", fan_out)
# The worker's logger at WARNING: the executor's debug and info lines are not written, as in a
# worker that is not asked for them.
LOGGER = logging.getLogger("durable-replay-baseline")
LOGGER.setLevel(logging.WARNING)
CONVERTER = JsonDataConverter()


def episode(raw: bytes) -> bytes:
    """One work item, as the worker handles it, less the gRPC call."""
    request = pb.OrchestratorRequest.FromString(raw)
    executor = _OrchestrationExecutor(REGISTRY, LOGGER, data_converter=CONVERTER)
    result = executor.execute(request.instanceId, request.pastEvents, request.newEvents)
    response = pb.OrchestratorResponse(
        instanceId=request.instanceId,
        actions=result.actions,
        customStatus=helpers.get_string_value(result.encoded_custom_status),
    )
    return response.SerializeToString()


def check(raw: bytes, expected: str) -> str:
    response = pb.OrchestratorResponse.FromString(episode(raw))
    completions = [a.completeOrchestration for a in response.actions if a.HasField("completeOrchestration")]
    if len(completions) != 1:
        return f"error expected one completeOrchestration action, got {len(response.actions)} actions"
    done = completions[0]
    if done.orchestrationStatus != pb.ORCHESTRATION_STATUS_COMPLETED:
        return f"error status {done.orchestrationStatus}: {done.failureDetails.errorMessage}"
    if json.loads(done.result.value) != json.loads(expected):
        return f"error output {done.result.value}, expected {expected}"
    return "ok"


def main() -> None:
    histories: dict[str, bytes] = {}

    def load(path: str) -> bytes:
        if path not in histories:
            with open(path, "rb") as file:
                histories[path] = file.read()
        return histories[path]

    for line in sys.stdin:
        command, path, argument = line.split()
        raw = load(path)
        if command == "check":
            answer = check(raw, argument)
        elif command == "time":
            episodes = int(argument)
            started = time.perf_counter()
            for _ in range(episodes):
                episode(raw)
            answer = repr(time.perf_counter() - started)
        else:
            answer = f"error unknown command {command}"
        print(answer, flush=True)


if __name__ == "__main__":
    main()
