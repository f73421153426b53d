// Start-up probe: nothing at all. The Bun runtime's own floor for a compiled executable.
export {};
