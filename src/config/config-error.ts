/** Thrown at startup for a configuration value that cannot be used; its message names the variable. */
export class ConfigError extends Error {}
