"""Everything outbound: the typed jobs, the only code that queues and acknowledges them, the
live feed for open sockets, and the drain that hands each job to its platform's sender."""
