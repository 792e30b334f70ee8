"""Floor 0, used by every stage: profiles and inference settings (config), atomic files (io),
seeding, machine facts (system, cpu) and where things are (paths)."""
