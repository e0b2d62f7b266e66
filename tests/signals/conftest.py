import pytest


@pytest.fixture(scope="session")
def untrained():
    from tests.conftest import untrained_detector

    return untrained_detector()
