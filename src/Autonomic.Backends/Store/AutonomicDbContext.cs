using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

namespace Autonomic.Backends.Store;

/// <summary>
/// The EF Core model of the state store: services, instances, events (append-only), incidents, actions, and the documents of agents that keep JSON state.
/// Every <see cref="DateTimeOffset"/> is stored as UTC ticks in an integer column, so it sorts correctly on any
/// provider and reads back in UTC with full precision. Short-lived: make one per operation.
/// This type carries the SQLite migrations; a provider with its own migrations derives a context type from it
/// (EF binds migrations to the exact context type), so the model is defined once.
/// </summary>
public class AutonomicDbContext : DbContext
{
    public AutonomicDbContext(DbContextOptions<AutonomicDbContext> options)
        : base(options)
    {
    }

    /// <summary>For a derived context whose options are typed to itself.</summary>
    protected AutonomicDbContext(DbContextOptions options)
        : base(options)
    {
    }

    public DbSet<ServiceRow> Services => Set<ServiceRow>();
    public DbSet<InstanceRow> Instances => Set<InstanceRow>();
    public DbSet<EventRow> Events => Set<EventRow>();
    public DbSet<IncidentRow> Incidents => Set<IncidentRow>();
    public DbSet<ActionRow> Actions => Set<ActionRow>();
    public DbSet<DocumentRow> Documents => Set<DocumentRow>();

    protected override void ConfigureConventions(ModelConfigurationBuilder configurationBuilder)
    {
        configurationBuilder.Properties<DateTimeOffset>().HaveConversion<UtcTicksConverter>();
    }

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<ServiceRow>(e =>
        {
            e.ToTable("services");
            e.HasKey(r => r.Name);
        });

        modelBuilder.Entity<InstanceRow>(e =>
        {
            e.ToTable("instances");
            e.HasKey(r => r.Id);
            e.Property(r => r.State).HasConversion<string>();
            e.HasIndex(r => r.Service);
        });

        modelBuilder.Entity<EventRow>(e =>
        {
            e.ToTable("events");
            e.HasKey(r => r.Seq);
            e.Property(r => r.Seq).ValueGeneratedOnAdd();
            e.Property(r => r.Id).IsRequired();
            e.HasIndex(r => r.Id).IsUnique();
            e.HasIndex(r => r.Time);
            e.HasIndex(r => new { r.Subject, r.Time });
        });

        modelBuilder.Entity<IncidentRow>(e =>
        {
            e.ToTable("incidents");
            e.HasKey(r => r.Id);
            e.Property(r => r.Status).HasConversion<string>();
            e.HasIndex(r => r.DetectedAt);
        });

        modelBuilder.Entity<ActionRow>(e =>
        {
            e.ToTable("actions");
            e.HasKey(r => r.Id);
            e.Property(r => r.Status).HasConversion<string>();
            e.HasIndex(r => r.CreatedAt);
            e.HasIndex(r => new { r.IncidentId, r.CreatedAt });
        });

        modelBuilder.Entity<DocumentRow>(e =>
        {
            e.ToTable("documents");
            e.HasKey(r => new { r.Collection, r.Id });
            e.Property(r => r.Collection).HasMaxLength(200);
            e.Property(r => r.Id).HasMaxLength(200);
            e.HasIndex(r => new { r.Collection, r.UpdatedAt });
        });
    }

    /// <summary>DateTimeOffset to UTC ticks and back (the offset is not kept; the instant is).</summary>
    private sealed class UtcTicksConverter() : ValueConverter<DateTimeOffset, long>(
        v => v.UtcTicks,
        v => new DateTimeOffset(v, TimeSpan.Zero));
}
