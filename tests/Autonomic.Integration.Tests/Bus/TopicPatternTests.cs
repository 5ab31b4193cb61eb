using Autonomic.Backends.Bus;
using CsCheck;

namespace Autonomic.Integration.Tests.Bus;

public sealed class TopicPatternTests
{
    [Theory]
    [InlineData("instance.exited", "instance.exited", true)]
    [InlineData("instance.exited", "instance.started", false)]
    [InlineData("instance.*", "instance.exited", true)]
    [InlineData("instance.*", "instance", false)]
    [InlineData("instance.*", "instance.state.changed", false)]
    [InlineData("*.exited", "instance.exited", true)]
    [InlineData("*", "instance", true)]
    [InlineData("*", "instance.exited", false)]
    [InlineData("#", "instance.exited", true)]
    [InlineData("#", "a", true)]
    [InlineData("instance.#", "instance", true)]
    [InlineData("instance.#", "instance.state.changed", true)]
    [InlineData("instance.#", "instances.exited", false)]
    [InlineData("#.exited", "exited", true)]
    [InlineData("#.exited", "a.b.exited", true)]
    [InlineData("#.exited", "a.b.exited.x", false)]
    [InlineData("a.#.z", "a.z", true)]
    [InlineData("a.#.z", "a.b.c.z", true)]
    [InlineData("a.#.z", "a.b.c", false)]
    [InlineData("a.*.#", "a", false)]
    [InlineData("a.*.#", "a.b", true)]
    [InlineData("#.#", "a.b", true)]
    [InlineData("Instance.exited", "instance.exited", false)]
    public void Matches_by_amqp_topic_rules(string pattern, string type, bool expected) =>
        Assert.Equal(expected, TopicPattern.Matches(pattern, type));

    private static readonly Gen<string[]> Words = Gen.String[Gen.Char['a', 'c'], 1, 2].Array[1, 5];

    [Fact]
    public void A_type_matches_itself_and_hash()
    {
        Words.Sample(words =>
        {
            var type = string.Join('.', words);
            return TopicPattern.Matches(type, type) && TopicPattern.Matches("#", type);
        });
    }

    [Fact]
    public void Stars_match_exactly_as_many_words()
    {
        Gen.Select(Words, Gen.Int[1, 6]).Sample((words, n) =>
        {
            var type = string.Join('.', words);
            var stars = string.Join('.', Enumerable.Repeat("*", n));
            return TopicPattern.Matches(stars, type) == (words.Length == n);
        });
    }

    [Fact]
    public void Replacing_words_by_wildcards_keeps_a_match()
    {
        Gen.Select(Words, Gen.Bool.Array[5]).Sample((words, wild) =>
        {
            var type = string.Join('.', words);
            var pattern = string.Join('.', words.Select((w, i) => wild[i] ? "*" : w));
            var prefixHash = "#." + words[^1];
            return TopicPattern.Matches(pattern, type) && TopicPattern.Matches(prefixHash, type);
        });
    }
}
