"""Where sweep batches run: one interface over a process pool, dask.distributed and in-process.

An :class:`Executor` maps a picklable function over an iterable of tasks and yields the results as
they complete, keeping at most ``max_in_flight`` tasks submitted at any time (so memory stays flat
however many points a sweep has). Implementations:

- :class:`LocalExecutor`: :class:`concurrent.futures.ProcessPoolExecutor` (the default).
- :class:`DaskExecutor`: a :class:`distributed.Client` on a new :class:`distributed.LocalCluster`,
  or on a running scheduler given by its address (``tcp://HOST:PORT``).
- :class:`SerialExecutor`: runs tasks in the calling process (debugging, tiny sweeps, profiling).

Make one with :func:`make_executor`.
"""

from __future__ import annotations

import abc
import itertools
import os
import re
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from rtmm.errors import SimulationError, SpecError, UnknownNameError

EXECUTOR_NAMES = ("local", "dask", "serial")
#: A dask scheduler address: optional protocol, a host name or IPv4/[IPv6] address, a port.
_ADDRESS = re.compile(
    r"^(?:(?:tcp|tls|ws|wss|ucx)://)?(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})$"
)


def check_address(address: str) -> str:
    """``address`` if it looks like ``[tcp://]HOST:PORT`` with a port in 1..65535, else SpecError
    (checked before connecting: dask raises assorted exceptions, or waits, on malformed ones)."""
    if isinstance(address, str) and re.fullmatch(r"inproc://[^\s/]+/\d+/\d+", address):
        return address  # a cluster inside this process (threads)
    match = _ADDRESS.match(address) if isinstance(address, str) else None
    if not match or not 1 <= int(match.group(1)) <= 65535:
        raise SpecError(
            f"malformed dask scheduler address {address!r}",
            source="<cli>",
            field="--scheduler-address",
            allowed="[tcp://]HOST:PORT with PORT in 1..65535, e.g. tcp://127.0.0.1:8786",
        )
    return address


class Executor(abc.ABC):
    """Runs ``fn(task)`` for every task, yielding results in completion order."""

    name: str = ""
    workers: int = 1

    @abc.abstractmethod
    def imap_unordered(
        self, fn: Callable[[Any], Any], tasks: Iterable[Any], *, max_in_flight: int | None = None
    ) -> Iterator[Any]:
        """Yield ``fn(task)`` for every task as tasks finish (at most ``max_in_flight`` pending)."""

    def close(self) -> None:  # noqa: B027  (optional hook: executors without workers keep it)
        """Release workers (idempotent)."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SerialExecutor(Executor):
    """Runs every task in the calling process, in order."""

    name = "serial"

    def imap_unordered(self, fn, tasks, *, max_in_flight=None):
        for task in tasks:
            yield fn(task)


class LocalExecutor(Executor):
    """A :class:`ProcessPoolExecutor` of ``workers`` processes (default: the CPU count).

    Workers ignore SIGINT (the parent handles Ctrl-C and cancels what is pending) and exit by
    themselves when their parent dies (e.g. ``kill -9`` of the sweep).
    """

    name = "local"

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or os.cpu_count() or 1
        self._pool: ProcessPoolExecutor | None = None

    def _get_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers, initializer=_worker_init, initargs=(os.getpid(),)
            )
        return self._pool

    def imap_unordered(self, fn, tasks, *, max_in_flight=None):
        pool = self._get_pool()
        limit = max_in_flight or 2 * self.workers
        pending: set[Future] = set()
        it = iter(tasks)
        try:
            while True:
                for task in it:
                    pending.add(pool.submit(fn, task))
                    if len(pending) >= limit:
                        break
                if not pending:
                    return
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    yield fut.result()
        except BrokenProcessPool as exc:
            raise SimulationError(
                f"a worker process died ({exc}); completed points are saved in the store",
                allowed="rerun with --resume (rtmm sweep) or as it was (rtmm compare) to compute "
                "the missing points",
            ) from None
        finally:
            for fut in pending:
                fut.cancel()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


class DaskExecutor(Executor):
    """dask.distributed: a new ``LocalCluster`` of ``workers`` single-threaded workers, or
    ``Client(address)`` on a running scheduler. ``processes=False`` keeps the local cluster's
    workers as threads of this process (light, for tests)."""

    name = "dask"

    def __init__(
        self,
        workers: int | None = None,
        address: str | None = None,
        *,
        processes: bool = True,
        connect_timeout_s: float = 10.0,
    ) -> None:
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise UnknownNameError(
                "executor 'dask' needs dask.distributed, which is not installed",
                source="<cli>",
                allowed="pip install 'rtmm[dask]', or --executor local",
            ) from None
        self._cluster: LocalCluster | None = None
        self._client: Client | None = None
        if address is None:
            self._cluster = LocalCluster(
                n_workers=workers or os.cpu_count() or 1,
                threads_per_worker=1,
                processes=processes,
                dashboard_address=None,
            )
            self._client = Client(self._cluster)
        else:
            check_address(address)
            try:
                self._client = Client(address, timeout=f"{connect_timeout_s}s")
            except (OSError, TimeoutError, ValueError, TypeError) as exc:
                raise SpecError(
                    f"cannot connect to dask scheduler {address} ({exc})",
                    source="<cli>",
                    field="--scheduler-address",
                    allowed="the address of a running dask scheduler, e.g. tcp://HOST:8786",
                ) from None
        self.workers = max(1, sum(self._client.nthreads().values()))  # type: ignore[union-attr]

    def imap_unordered(self, fn, tasks, *, max_in_flight=None):
        from distributed import as_completed

        limit = max_in_flight or 2 * self.workers
        it = iter(tasks)
        first = [self._client.submit(fn, t, pure=False) for t in itertools.islice(it, limit)]
        if not first:
            return
        ac = as_completed(first)
        try:
            for fut in ac:
                result = fut.result()
                fut.release()
                for task in it:
                    ac.add(self._client.submit(fn, task, pure=False))
                    break
                yield result
        finally:
            ac.clear()

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None


def make_executor(
    name: str = "local", *, workers: int | None = None, address: str | None = None, **options: Any
) -> Executor:
    """Build an executor by name (``local``, ``dask`` or ``serial``)."""
    if address is not None and name != "dask":
        raise SpecError(
            f"a scheduler address needs --executor dask, not '{name}'",
            source="<cli>",
            field="--scheduler-address",
        )
    if name == "local":
        return LocalExecutor(workers)
    if name == "dask":
        if address is not None:
            check_address(address)
        return DaskExecutor(workers, address, **options)
    if name == "serial":
        return SerialExecutor()
    raise UnknownNameError(
        f"unknown executor '{name}'", source="<cli>", allowed=", ".join(EXECUTOR_NAMES)
    )


def _worker_init(parent_pid: int) -> None:
    """Process-pool worker set-up: leave Ctrl-C to the parent; exit when the parent is gone."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="rtmm-parent-watch", daemon=True).start()
