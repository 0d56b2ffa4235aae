"""gordon-migrate: owns the Gordon v7 Postgres schema."""

__version__ = "4.0.0"
