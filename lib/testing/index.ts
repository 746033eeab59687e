export type { ContractFramework } from './contract-kit';
export { type StoreContractOptions, storeContract } from './store-contract';
