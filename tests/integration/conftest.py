import pytest

from nimbus_harness import NimbusServer


@pytest.fixture
def nimbus():
    """A fresh server with auth off and its own data directory."""
    with NimbusServer() as server:
        yield server


@pytest.fixture
def nimbus_factory():
    """Starts servers with custom flags; stops them all at the end."""
    servers = []

    def start(*flags, **kwargs):
        server = NimbusServer(*flags, **kwargs).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.__exit__(None, None, None)
