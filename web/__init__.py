"""The portal (`luoshi serve`): the office's and the units' web face over the same store, engine
and outputs as the command line. `accounts` and `audit` import no web framework, so that
`luoshi users` does not load one."""
