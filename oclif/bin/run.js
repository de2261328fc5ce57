#!/usr/bin/env node
// Entry point of the `pqc` CLI: oclif loads commands from dist/oclif/commands.
import {execute} from '@oclif/core'

await execute({dir: import.meta.url})
