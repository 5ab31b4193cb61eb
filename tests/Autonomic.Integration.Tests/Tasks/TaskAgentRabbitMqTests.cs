using Autonomic.Backends.Bus.RabbitMq;
using Autonomic.Core.Tasks;
using Autonomic.Integration.Tests.Bus.RabbitMq;

namespace Autonomic.Integration.Tests.Tasks;

/// <summary>
/// The work queue on a real RabbitMQ (scripts/services/rabbitmq.sh start): two agents, each with its own connection,
/// share <c>task.work</c> in group <c>task-workers</c>, and no task runs twice.
/// </summary>
[Collection(RabbitMqCollection.Name)]
public sealed class TaskAgentRabbitMqTests
{
    private static RabbitMqBus NewBus(string exchange) => new(new RabbitMqBusOptions
    {
        Url = RabbitMqTestBroker.Url,
        Exchange = exchange,
        RecoveryInterval = TimeSpan.FromMilliseconds(500),
        ConnectTimeout = TimeSpan.FromSeconds(2),
    });

    [Fact]
    public async Task Two_agents_on_rabbitmq_share_the_work_queue_and_run_each_task_once()
    {
        // A fresh exchange (and so fresh queues) for this test only; both agents' buses use it.
        var exchange = $"test.{Guid.NewGuid():N}"[..17];
        var busA = NewBus(exchange);
        var busB = NewBus(exchange);
        try
        {
            await using (var h = await TaskHarness.CreateAsync(busA))
            {
                var a = new ScriptedFunctionInvoker();
                var b = new ScriptedFunctionInvoker();
                // Each task is held a moment so that one agent cannot drain the queue before the other takes its share.
                a.Delay = b.Delay = TimeSpan.FromMilliseconds(20);
                await h.StartAgentAsync(o => o.Concurrency = 2, a, busA);
                await h.StartAgentAsync(o => o.Concurrency = 2, b, busB);

                var ids = new List<string>();
                for (var i = 0; i < 30; i++)
                {
                    ids.Add((await h.SubmitAsync(TaskTypes.FunctionInvoke, new { function = "echo", @event = new { tag = $"r{i}" } })).Id);
                }

                foreach (var id in ids)
                {
                    Assert.Equal(TaskState.Succeeded, (await h.WaitFinishedAsync(id, TimeSpan.FromSeconds(60))).Status);
                }

                for (var i = 0; i < 30; i++)
                {
                    var task = await h.GetAsync(ids[i]);
                    Assert.True(a.Calls($"r{i}") + b.Calls($"r{i}") == 1,
                        $"r{i} ran {a.Calls($"r{i}")} + {b.Calls($"r{i}")} times: {System.Text.Json.JsonSerializer.Serialize(task, Autonomic.Core.Model.JsonDefaults.Options)}");
                }

                Assert.True(a.Total > 0 && b.Total > 0, $"both agents should share the work: {a.Total} and {b.Total}");
            }
        }
        finally
        {
            await busA.DisposeAsync();
            await busB.DisposeAsync();
            await RabbitMqTestBroker.DeleteTopologyAsync([busA, busB]);
        }
    }
}
