"""Pure domain rules of NPL collection: standard library only, exact money, dates passed in."""
