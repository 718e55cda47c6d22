/** Errors of the simulator itself; it imports nothing from the engine, so it has its own. */

/** The simulator was started or reconfigured with invalid options. */
export class SimulatorConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SimulatorConfigError';
  }
}

/** A client request is invalid; answered with 400 and this message. */
export class SimulatorRequestError extends Error {
  readonly status: number;
  constructor(message: string, status = 400) {
    super(message);
    this.name = 'SimulatorRequestError';
    this.status = status;
  }
}

/**
 * A CRM request is refused; answered with `status` and `{"error":{"code","message"}}`, the error
 * shape of the CRM (unlike the pulled API's), as destinations parse it.
 */
export class CrmRequestError extends SimulatorRequestError {
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message, status);
    this.name = 'CrmRequestError';
    this.code = code;
  }
}
