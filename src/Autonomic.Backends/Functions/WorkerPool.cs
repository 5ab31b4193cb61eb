using System.Diagnostics;
using System.Text.Json;
using Autonomic.Core.Abstractions;

namespace Autonomic.Backends.Functions;

/// <summary>
/// The warm workers of one function version: at most <c>MaxWorkers</c> at once (more callers wait for a free one,
/// up to the invocation timeout), idle ones reused newest first, lost ones (crash, timeout, memory) discarded and
/// replaced on demand. <see cref="ReapAsync"/> retires workers idle too long and pre-warms up to <c>MinIdle</c>.
/// </summary>
internal sealed class WorkerPool : IAsyncDisposable
{
    private readonly WorkerLaunch _launch;
    private readonly int _maxWorkers;
    private readonly int _minIdle;
    private readonly TimeSpan _timeout;
    private readonly TimeProvider _time;
    private readonly Action<FunctionWorker, string> _onLog;
    private readonly SemaphoreSlim _slots;
    private readonly Lock _lock = new();
    private readonly Stack<FunctionWorker> _idle = new();
    private readonly HashSet<FunctionWorker> _all = [];
    private int _warming;
    private bool _disposed;

    public WorkerPool(WorkerLaunch launch, int maxWorkers, int minIdle, TimeSpan timeout, TimeProvider time, Action<FunctionWorker, string> onLog)
    {
        _launch = launch;
        _maxWorkers = maxWorkers;
        _minIdle = Math.Min(minIdle, maxWorkers);
        _timeout = timeout;
        _time = time;
        _onLog = onLog;
        _slots = new SemaphoreSlim(maxWorkers, maxWorkers);
    }

    public string Function => _launch.Function;

    public int Version => _launch.Version;

    /// <summary>Workers alive now (busy and idle).</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _all.Count;
            }
        }
    }

    public int IdleCount
    {
        get
        {
            lock (_lock)
            {
                return _idle.Count;
            }
        }
    }

    /// <summary>The temporary directories of the live workers (for tests and diagnostics).</summary>
    public IReadOnlyList<(int Pid, string TempDirectory)> Workers
    {
        get
        {
            lock (_lock)
            {
                return [.. _all.Select(w => (w.Pid, w.TempDirectory))];
            }
        }
    }

    public async Task<InvocationResult> InvokeAsync(JsonElement payload, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        if (!await _slots.WaitAsync(_timeout, cancellationToken))
        {
            return Result(InvocationStatus.TimedOut, started, cold: false, error: $"all {_maxWorkers} workers stayed busy for {_timeout.TotalMilliseconds:0} ms");
        }

        try
        {
            var worker = TakeIdle();
            var cold = worker is null;
            if (worker is null)
            {
                try
                {
                    worker = await StartWorkerAsync(cancellationToken);
                }
                catch (FunctionWorkerException e)
                {
                    return Result(InvocationStatus.Crashed, started, cold: true, error: e.Message);
                }
            }

            WorkerReply reply;
            try
            {
                reply = await worker.InvokeAsync(payload, _timeout, cancellationToken);
            }
            catch
            {
                // The caller gave up mid-request: the worker may still answer it later, so it cannot serve anyone else.
                await DiscardAsync(worker);
                throw;
            }

            if (reply.WorkerLost)
            {
                await DiscardAsync(worker);
            }
            else
            {
                ReturnIdle(worker);
            }

            return Result(reply.Status, started, cold, reply.Error) with
            {
                Response = reply.Response,
                HandlerMs = reply.HandlerMs,
                Logs = reply.Logs,
            };
        }
        finally
        {
            _slots.Release();
        }
    }

    private InvocationResult Result(InvocationStatus status, long started, bool cold, string? error) => new()
    {
        Status = status,
        Function = _launch.Function,
        Version = _launch.Version,
        Cold = cold,
        Error = error,
        DurationMs = Math.Round(Stopwatch.GetElapsedTime(started).TotalMilliseconds, 3),
    };

    private FunctionWorker? TakeIdle()
    {
        List<FunctionWorker>? dead = null;
        FunctionWorker? found = null;
        lock (_lock)
        {
            while (_idle.TryPop(out var worker))
            {
                if (!worker.HasExited)
                {
                    found = worker;
                    break;
                }

                _all.Remove(worker);
                (dead ??= []).Add(worker);
            }
        }

        foreach (var worker in dead ?? [])
        {
            _ = worker.DisposeAsync().AsTask();
        }

        return found;
    }

    private void ReturnIdle(FunctionWorker worker)
    {
        worker.IdleSince = _time.GetUtcNow();
        bool disposed;
        lock (_lock)
        {
            disposed = _disposed;
            if (!disposed)
            {
                _idle.Push(worker);
            }
        }

        if (disposed)
        {
            _ = worker.DisposeAsync().AsTask();
        }
    }

    private async Task<FunctionWorker> StartWorkerAsync(CancellationToken cancellationToken)
    {
        var worker = await FunctionWorker.StartAsync(_launch, _onLog, cancellationToken);
        bool disposed;
        lock (_lock)
        {
            disposed = _disposed;
            if (!disposed)
            {
                _all.Add(worker);
            }
        }

        if (disposed)
        {
            await worker.DisposeAsync();
            throw new ObjectDisposedException(nameof(WorkerPool));
        }

        return worker;
    }

    private async Task DiscardAsync(FunctionWorker worker)
    {
        lock (_lock)
        {
            _all.Remove(worker);
        }

        await worker.DisposeAsync();
    }

    /// <summary>Retires workers idle longer than <paramref name="idleTimeout"/> (keeping <c>MinIdle</c>) and pre-warms up to <c>MinIdle</c>.</summary>
    public async Task ReapAsync(TimeSpan idleTimeout, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        var retired = new List<FunctionWorker>();
        lock (_lock)
        {
            var keep = _idle.Reverse().Where(w => !w.HasExited).ToList(); // oldest first
            var excess = keep.Count - _minIdle;
            foreach (var worker in _idle.Where(w => w.HasExited))
            {
                retired.Add(worker);
            }

            for (var i = 0; i < keep.Count && excess > 0; i++)
            {
                if (now - keep[i].IdleSince >= idleTimeout)
                {
                    retired.Add(keep[i]);
                    excess--;
                }
            }

            _idle.Clear();
            foreach (var worker in keep.Where(w => !retired.Contains(w)))
            {
                _idle.Push(worker);
            }

            foreach (var worker in retired)
            {
                _all.Remove(worker);
            }
        }

        foreach (var worker in retired)
        {
            await worker.DisposeAsync();
        }

        await PrewarmAsync(cancellationToken);
    }

    /// <summary>Starts workers until <c>MinIdle</c> are idle (bounded by <c>MaxWorkers</c>).</summary>
    public async Task PrewarmAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _warming, 1) != 0)
        {
            return;
        }

        try
        {
            while (true)
            {
                lock (_lock)
                {
                    if (_disposed || _idle.Count >= _minIdle || _all.Count >= _maxWorkers)
                    {
                        return;
                    }
                }

                if (!_slots.Wait(0, cancellationToken))
                {
                    return;
                }

                try
                {
                    ReturnIdle(await StartWorkerAsync(cancellationToken));
                }
                catch (Exception e) when (e is FunctionWorkerException or ObjectDisposedException)
                {
                    return;
                }
                finally
                {
                    _slots.Release();
                }
            }
        }
        finally
        {
            Volatile.Write(ref _warming, 0);
        }
    }

    /// <summary>Stops every idle worker (busy ones finish their invocation and are then stopped with the pool, if disposed).</summary>
    public async Task DrainIdleAsync()
    {
        List<FunctionWorker> idle;
        lock (_lock)
        {
            idle = [.. _idle];
            _idle.Clear();
            foreach (var worker in idle)
            {
                _all.Remove(worker);
            }
        }

        foreach (var worker in idle)
        {
            await worker.DisposeAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        List<FunctionWorker> all;
        lock (_lock)
        {
            _disposed = true;
            all = [.. _all];
            _all.Clear();
            _idle.Clear();
        }

        await Task.WhenAll(all.Select(w => w.DisposeAsync().AsTask()));
    }
}
