using System.Buffers;
using System.Diagnostics;
using System.Reflection;
using System.Runtime.Loader;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Win32.SafeHandles;

namespace Autonomic.FunctionHost;

/// <summary>
/// <c>autonomic-fnhost HANDLER.dll</c>: loads the compiled function and serves the line protocol. Each request is one
/// JSON line on stdin, <c>{"id":..,"event":..,"deadlineMs":..}</c>; each answer one line on stdout,
/// <c>{"id":..,"response":..,"handlerMs":..}</c> or <c>{"id":..,"error":"..","handlerMs":..}</c>. stderr is the log.
/// The handler is a public static method <c>Handle</c> or <c>HandleAsync</c> of a type named <c>Handler</c>, taking a
/// <c>JsonNode?</c> (and optionally a <c>CancellationToken</c> cancelled at the deadline), returning a value, a
/// <c>Task</c> or a <c>ValueTask</c> of it (a <c>JsonNode</c> or anything <c>System.Text.Json</c> serializes).
/// Running out of memory ends the process (exit 137) after a line on stderr: the invoker reports a crash.
/// </summary>
internal static class Program
{
    private const int OutOfMemoryExit = 137;

    private static async Task<int> Main(string[] args)
    {
        using var log = new StreamWriter(new FileStream(new SafeFileHandle(2, ownsHandle: false), FileAccess.Write, 1), new UTF8Encoding(false)) { AutoFlush = true };
        if (args.Length != 1)
        {
            await log.WriteLineAsync("usage: autonomic-fnhost HANDLER.dll");
            return 2;
        }

        MethodInfo handler;
        try
        {
            handler = FindHandler(AssemblyLoadContext.Default.LoadFromAssemblyPath(Path.GetFullPath(args[0])));
        }
        catch (Exception e) when (e is IOException or BadImageFormatException or InvalidOperationException)
        {
            await log.WriteLineAsync($"autonomic-fnhost: cannot load {args[0]}: {e.Message}");
            return 1;
        }

        // The protocol owns stdout: whatever the handler prints goes to the log instead.
        Console.SetOut(log);
        using var input = new StreamReader(new FileStream(new SafeFileHandle(0, ownsHandle: false), FileAccess.Read, 1), new UTF8Encoding(false), false, 64 * 1024);
        await using var output = new FileStream(new SafeFileHandle(1, ownsHandle: false), FileAccess.Write, 1);
        var buffer = new ArrayBufferWriter<byte>(4096);
        // Tells the invoker the handler is loaded: cold-start time is not counted against the first invocation's timeout.
        await output.WriteAsync("{\"ready\":true}\n"u8.ToArray());
        await output.FlushAsync();
        while (await input.ReadLineAsync() is { } line)
        {
            if (line.Length == 0)
            {
                continue;
            }

            JsonNode? id = null;
            JsonNode? evt = null;
            var deadlineMs = 0L;
            string? protocolError = null;
            try
            {
                var request = JsonNode.Parse(line)?.AsObject() ?? throw new JsonException("the request is null");
                id = request["id"]?.DeepClone();
                evt = request["event"]?.DeepClone();
                deadlineMs = request["deadlineMs"]?.GetValue<long>() ?? 0;
            }
            catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
            {
                protocolError = "bad request line: " + e.Message;
            }

            var watch = Stopwatch.StartNew();
            JsonNode? response = null;
            var error = protocolError;
            if (error is null)
            {
                try
                {
                    using var deadline = deadlineMs > 0 ? new CancellationTokenSource(TimeSpan.FromMilliseconds(deadlineMs)) : new CancellationTokenSource();
                    response = await InvokeAsync(handler, evt, deadline.Token);
                }
                catch (OutOfMemoryException)
                {
                    await log.WriteLineAsync("autonomic-fnhost: out of memory (the managed heap reached its limit)");
                    return OutOfMemoryExit;
                }
                catch (Exception e)
                {
                    var inner = e is TargetInvocationException { InnerException: { } ie } ? ie : e;
                    if (inner is OutOfMemoryException)
                    {
                        await log.WriteLineAsync("autonomic-fnhost: out of memory (the managed heap reached its limit)");
                        return OutOfMemoryExit;
                    }

                    error = $"{inner.GetType().Name}: {inner.Message}";
                    await log.WriteLineAsync($"unhandled {inner}");
                }
            }

            buffer.ResetWrittenCount();
            using (var writer = new Utf8JsonWriter(buffer))
            {
                writer.WriteStartObject();
                writer.WritePropertyName("id");
                if (id is null)
                {
                    writer.WriteNullValue();
                }
                else
                {
                    id.WriteTo(writer);
                }

                if (error is null)
                {
                    writer.WritePropertyName("response");
                    if (response is null)
                    {
                        writer.WriteNullValue();
                    }
                    else
                    {
                        response.WriteTo(writer);
                    }
                }
                else
                {
                    writer.WriteString("error", error);
                }

                writer.WriteNumber("handlerMs", Math.Round(watch.Elapsed.TotalMilliseconds, 3));
                writer.WriteEndObject();
            }

            buffer.Write("\n"u8);
            await output.WriteAsync(buffer.WrittenMemory);
            await output.FlushAsync();
        }

        return 0;
    }

    private static MethodInfo FindHandler(Assembly assembly)
    {
        var types = assembly.GetTypes().Where(t => t.Name == "Handler").ToList();
        foreach (var type in types)
        {
            var method = type.GetMethods(BindingFlags.Public | BindingFlags.Static)
                .FirstOrDefault(m => m.Name is "Handle" or "HandleAsync" && IsSupported(m.GetParameters()));
            if (method is not null)
            {
                return method;
            }
        }

        throw new InvalidOperationException("no public static Handle(JsonNode?) or HandleAsync(JsonNode?) method on a type named Handler");
    }

    internal static bool IsSupported(ParameterInfo[] parameters) =>
        parameters.Length is 1 or 2
        && parameters[0].ParameterType == typeof(JsonNode)
        && (parameters.Length == 1 || parameters[1].ParameterType == typeof(CancellationToken));

    private static async Task<JsonNode?> InvokeAsync(MethodInfo handler, JsonNode? evt, CancellationToken deadline)
    {
        object?[] arguments = handler.GetParameters().Length == 2 ? [evt, deadline] : [evt];
        var result = handler.Invoke(null, arguments);
        switch (result)
        {
            case Task task:
                await task;
                result = task.GetType().IsGenericType ? task.GetType().GetProperty("Result")!.GetValue(task) : null;
                break;
            case ValueTask valueTask:
                await valueTask;
                result = null;
                break;
            default:
                if (result is not null && result.GetType().IsGenericType && result.GetType().GetGenericTypeDefinition() == typeof(ValueTask<>))
                {
                    var asTask = (Task)result.GetType().GetMethod("AsTask")!.Invoke(result, null)!;
                    await asTask;
                    result = asTask.GetType().GetProperty("Result")!.GetValue(asTask);
                }

                break;
        }

        return result switch
        {
            null => null,
            JsonNode node => node,
            JsonElement element => JsonNode.Parse(element.GetRawText()),
            _ => JsonSerializer.SerializeToNode(result, result.GetType()),
        };
    }
}
