using System.Globalization;
using Autonomic.Agents.Fleet;
using Autonomic.Core.Abstractions;
using Autonomic.Core.Model;

namespace Autonomic.Agents.Chaos;

/// <summary>
/// Injects faults into live instances for chaos experiments. Signals go through the process runtime; leak and CPU
/// faults ask the workload's fault hooks over HTTP. Every injection is recorded as an action of the chaos agent.
/// </summary>
public sealed class FaultInjector(InstanceRegistry registry, IProcessRuntime runtime, IStateStore store, TimeProvider time, HttpClient http) : IFaultInjector
{
    private const int SigKill = 9;
    private const int SigStop = 19;
    private readonly ActionRecorder _actions = new(store, time, AgentNames.Chaos);

    public async Task<FaultResult> InjectAsync(string fault, string target, CancellationToken cancellationToken = default)
    {
        if (!Faults.All.Contains(fault))
        {
            throw new ArgumentException($"unknown fault '{fault}'; expected one of {string.Join(", ", Faults.All)}", nameof(fault));
        }

        var live = Resolve(target);
        // In a process of its own the API has no handle of the healer's; it adopts the recorded process to signal it.
        var handle = live.Handle ?? (live.Record is { Pid: { } pid, StartTicks: { } ticks } ? runtime.Adopt(pid, ticks) : null);
        if (handle is null)
        {
            throw new InvalidOperationException($"instance {live.Record.Id} has no live process (state {live.Record.State.ToString().ToLowerInvariant()})");
        }

        string detail;
        switch (fault)
        {
            case Faults.Kill:
                runtime.Signal(handle, SigKill);
                detail = $"SIGKILL sent to pid {handle.Pid}";
                break;
            case Faults.Hang:
                runtime.Signal(handle, SigStop);
                detail = $"SIGSTOP sent to pid {handle.Pid}: alive but unresponsive";
                break;
            default:
                var port = live.Record.Port ?? throw new ArgumentException($"instance {live.Record.Id} has no port for the {fault} fault hook", nameof(target));
                var path = fault == Faults.Leak ? "/fault/leak?mb_per_s=20" : "/fault/cpu?seconds=30";
                using (var response = await http.GetAsync(new Uri($"http://127.0.0.1:{port}{path}"), cancellationToken).ConfigureAwait(false))
                {
                    if (!response.IsSuccessStatusCode)
                    {
                        throw new InvalidOperationException($"the workload answered {(int)response.StatusCode} to {path}; does it have fault hooks?");
                    }
                }

                detail = $"asked {live.Record.Id} to {(fault == Faults.Leak ? "leak 20 MiB/s" : "burn CPU for 30 s")} ({path})";
                break;
        }

        var evidence = new Dictionary<string, string> { ["pid"] = handle.Pid.ToString(CultureInfo.InvariantCulture), ["fault"] = fault };
        await _actions.DoneAsync(_actions.New($"chaos.{fault}", live.Record.Id, "chaos.manual", "fault injected on request", evidence), ActionStatus.Succeeded, detail, cancellationToken).ConfigureAwait(false);
        return new FaultResult(fault, live.Record.Id, handle.Pid, detail);
    }

    /// <summary>Finds the instance a target names: <c>SERVICE</c> (its first live instance), <c>SERVICE/INDEX</c> or an instance id.</summary>
    private LiveInstance Resolve(string target)
    {
        var all = registry.Snapshot();
        var slash = target.IndexOf('/', StringComparison.Ordinal);
        if (slash > 0)
        {
            var service = target[..slash];
            if (!int.TryParse(target[(slash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var index))
            {
                throw new ArgumentException($"'{target}': the part after '/' must be an instance index", nameof(target));
            }

            return all.FirstOrDefault(i => i.Record.Service == service && i.Record.Index == index)
                ?? throw new ArgumentException($"no instance {index} of service '{service}'", nameof(target));
        }

        return all.FirstOrDefault(i => i.Record.Id == target)
            ?? all.Where(i => i.Record.Service == target).OrderBy(i => i.Handle is null).ThenBy(i => i.Record.Index).FirstOrDefault()
            ?? throw new ArgumentException($"no service or instance named '{target}'; known: {string.Join(", ", all.Select(i => i.Record.Service).Distinct())}", nameof(target));
    }
}
