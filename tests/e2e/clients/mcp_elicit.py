"""A real MCP client (the official Python SDK) that answers Sluice's approval requests.

Usage: mcp_elicit.py ANSWER CONFIG|URL PROGRAM...
  ANSWER: accept | accept-session | decline | none (declares no elicitation capability)
  Launches `sluice serve --stdio --config CONFIG` ($SLUICE_BIN), or connects to a running
  `sluice serve --http` at URL (streamable HTTP), runs each PROGRAM with the `execute` tool
  in one MCP session, and prints one JSON object on stdout. With $SLUICE_MCP_MODE set to a
  protocol revision (2026-07-28), it speaks that revision session-less to URL instead, where
  an approval arrives as an InputRequiredResult that the SDK answers and retries:
  {"elicitations": [{"message": ..., "schema": ...}], "results": [structuredContent, ...]}
"""

import asyncio
import json
import os
import sys

from mcp import types
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client


async def main() -> None:
    answer, config, programs = sys.argv[1], sys.argv[2], sys.argv[3:]
    asked = []

    async def on_elicit(context, params):
        asked.append(
            {
                "message": params.message,
                "schema": params.requested_schema if hasattr(params, "requested_schema") else None,
            }
        )
        if answer == "accept":
            return types.ElicitResult(action="accept", content={})
        if answer == "accept-session":
            return types.ElicitResult(action="accept", content={"remember_for_session": True})
        return types.ElicitResult(action="decline")

    mode = os.environ.get("SLUICE_MCP_MODE")
    if mode:
        from mcp.client.client import Client

        kwargs = {"client_info": types.Implementation(name="e2e-approver", version="1.0"), "mode": mode}
        if answer != "none":
            kwargs["elicitation_callback"] = on_elicit
        results = []
        async with Client(config, **kwargs) as client:
            for program in programs:
                result = await client.call_tool("execute", {"code": program})
                results.append(result.structured_content)
        print(json.dumps({"elicitations": asked, "results": results}, default=str))
        return

    if config.startswith("http://"):
        transport = streamable_http_client(config)
    else:
        transport = stdio_client(
            StdioServerParameters(
                command=os.environ["SLUICE_BIN"],
                args=["serve", "--stdio", "--config", config],
                env={"LOG": "warn"},
            )
        )
    results = []
    async with transport as streams:
        read, write = streams[0], streams[1]
        kwargs = {"client_info": types.Implementation(name="e2e-approver", version="1.0")}
        if answer != "none":
            kwargs["elicitation_callback"] = on_elicit
        async with ClientSession(read, write, **kwargs) as session:
            await session.initialize()
            for program in programs:
                result = await session.call_tool("execute", {"code": program})
                results.append(result.structured_content)
    print(json.dumps({"elicitations": asked, "results": results}, default=str))


asyncio.run(main())
