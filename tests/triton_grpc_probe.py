"""``python -m tests.triton_grpc_probe PORT [OUTPUT ...]``: one tritonclient gRPC inference of iris, as JSON.

A process of its own: tritonclient's protos and KServe's define the same ``inference`` package, which
one process cannot hold both of (the test session imports KServe's for the gateway). Prints the output
names, how many came in ``raw_output_contents`` and each output as tritonclient's ``as_numpy`` reads it
(``null`` where it cannot).
"""

from __future__ import annotations

import json
import sys

import numpy as np
import tritonclient.grpc as grpcclient

ROWS = np.asarray([[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]], dtype=np.float32)


def main(argv: list[str]) -> None:
    port, wanted = argv[0], argv[1:]
    client = grpcclient.InferenceServerClient(url=f"127.0.0.1:{port}")
    try:
        tensor = grpcclient.InferInput("input-0", list(ROWS.shape), "FP32")
        tensor.set_data_from_numpy(ROWS)
        outputs = [grpcclient.InferRequestedOutput(name) for name in wanted] or None
        result = client.infer("iris", [tensor], outputs=outputs, client_timeout=60)
        response = result.get_response()
        values = {}
        for output in response.outputs:
            array = result.as_numpy(output.name)
            values[output.name] = (
                None
                if array is None
                else [value.decode() if isinstance(value, bytes) else value for value in array.tolist()]
            )
        print(json.dumps({"raw": len(response.raw_output_contents), "values": values}))
    finally:
        client.close()


if __name__ == "__main__":
    main(sys.argv[1:])
