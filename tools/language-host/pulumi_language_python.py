"""A Pulumi language host for Python programs, built on the Pulumi Python SDK's own LanguageServer.

Why this exists: the official host (Go module
github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3) is not served by the Go module
proxy this project builds from, at any pseudo-version tried (see README.md). The SDK ships the
server the Automation API uses for inline programs; this host serves it over the plugin protocol
and runs the project's __main__.py as that program, in-process.
"""

from __future__ import annotations

import argparse
import os
import runpy
import sys
from concurrent import futures

import grpc

# Beside this file (the script's folder is first on sys.path): the host ends with its engine.
from engine_watch import exit_on_stop, exit_with_engine
from pulumi.automation._server import LanguageServer
from pulumi.runtime.proto import language_pb2, language_pb2_grpc, plugin_pb2


class ProjectLanguageServer(LanguageServer):
    def __init__(self, engine_address: str) -> None:
        super().__init__(self._run_program)
        self._engine_address = engine_address
        self._entry = "__main__.py"

    def _run_program(self) -> None:
        runpy.run_path(self._entry, run_name="__main__")

    def GetPluginInfo(self, request, context):
        return plugin_pb2.PluginInfo(version="3.0.0")

    def Run(self, request, context):
        pwd = request.pwd or os.getcwd()
        os.chdir(pwd)
        if pwd not in sys.path:
            sys.path.insert(0, pwd)
        if request.HasField("info") and request.info.program_directory:
            path = os.path.join(request.info.program_directory, request.info.entry_point or ".")
        else:
            path = os.path.join(pwd, request.program or ".")
        self._entry = os.path.join(path, "__main__.py") if os.path.isdir(path) else path
        # The SDK's server reads the engine address from args (inline programs pass it there).
        forwarded = language_pb2.RunRequest()
        forwarded.CopyFrom(request)
        del forwarded.args[:]
        forwarded.args.append(self._engine_address)
        return super().Run(forwarded, context)


def main() -> None:
    parser = argparse.ArgumentParser(prog="pulumi-language-python")
    parser.add_argument("--root", "-root", default="")
    parser.add_argument("--tracing", "-tracing", default="")
    parser.add_argument("--logflow", "-logflow", action="store_true")
    parser.add_argument("--logtostderr", "-logtostderr", action="store_true")
    parser.add_argument("-v", default="")
    parser.add_argument("engine", nargs="?", default="")
    args, _unknown = parser.parse_known_args()
    exit_with_engine()
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=4),
        options=[("grpc.max_receive_message_length", 400 * 1024 * 1024)],
    )
    language_pb2_grpc.add_LanguageRuntimeServicer_to_server(ProjectLanguageServer(args.engine), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(port, flush=True)
    # The engine stops plugins with SIGINT when the operation ends: that is a normal exit.
    exit_on_stop()
    server.wait_for_termination()


if __name__ == "__main__":
    main()
