export type { ContractFramework } from './framework';
export { type StoreContractOptions, storeContract } from './store-contract';
