"""What every layer leans on: reading and writing documents safely, and the shipped resources
and catalogue."""
