"""Application services: plain functions taking a unit of work; they bind machine, rules and rows."""
