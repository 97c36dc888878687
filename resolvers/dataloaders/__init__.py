"""Per-request dataloaders, named `<Target>By<Key>Loader`, results aligned to keys."""
