// Minimal types for dns2 2.1.0 (a DNS server and client in pure JavaScript), as the tests use it.
declare module "dns2" {
  interface Question {
    name: string;
    type: number;
    class: number;
  }
  interface Resource {
    name: string;
    type: number;
    class: number;
    ttl: number;
    [field: string]: unknown;
  }
  class Packet {
    header: { id: number; qr: number; rcode: number; [field: string]: number };
    questions: Question[];
    answers: Resource[];
    authorities: Resource[];
    additionals: Resource[];
    static TYPE: Record<string, number>;
    static CLASS: Record<string, number>;
    static createResponseFromRequest(request: Packet): Packet;
  }
  interface DnsServer {
    on(event: "requestError", listener: (error: Error) => void): this;
    listen(options: { udp?: { port: number; address: string; type?: "udp4" | "udp6" } }): Promise<{
      udp?: { port: number; address: string };
    }>;
    close(): Promise<void>;
  }
  function createServer(options: {
    udp?: boolean;
    handle: (request: Packet, send: (response: Packet) => void, rinfo: unknown) => void;
  }): DnsServer;
  function UDPClient(options?: {
    dns?: string;
    port?: number;
  }): (name: string, type?: string) => Promise<Packet>;
  const dns2: { Packet: typeof Packet; createServer: typeof createServer; UDPClient: typeof UDPClient };
  export default dns2;
}
